"""Data quality gates: the rulebook (lol_core.rules) rendered as Pandera checks, shared by the domains.

`pandera_raw` validates a raw_matches partition with Pandera's pandas backend (the ingestion gate);
`pandera_spark` validates the Spark tables of the batch layer with Pandera's PySpark backend.
"""
