"""The leaf core of lol_platform: what every engine shares and nothing else.

The schema module (`schemas`), the rulebook (`rules`), the feature formulas (`features`), the door that
turns one message into rows (`door`), the lake layout (`lake_paths`) and date ranges (`dates`). It imports
nothing of `lol_platform` or `spark_jobs` (an import-rule test holds it to that), so the Dagster code
location, the `spark-submit` jobs and Spark's Python workers can all import it. See docs/architecture.md.
"""
