"""Data quality gates: Pandera contracts derived from lol_core.schemas, plus relation checks."""
