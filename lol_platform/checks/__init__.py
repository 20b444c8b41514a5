"""Data quality gates: Pandera contracts derived from lol_platform.schemas, plus relation checks."""
