"""spark-submit spark_jobs/position_stats_job.py --date YYYY-MM-DD [--end-date YYYY-MM-DD] --lake-root URI

Cleaned participants of the date range -> daily position stats, replacing those dates.
"""

from __future__ import annotations

import sys

from spark_jobs import lake_io
from spark_jobs.aggregates import position_stats
from spark_jobs.job_cli import parse_args, report, spark_session


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[2], argv)
    spark = spark_session("lol_position_stats")
    stats = position_stats(lake_io.read_cleaned(spark, args.lake_root, args.start, args.end))
    written = lake_io.write_position_stats(stats, args.lake_root, args.start, args.end)
    report("position_stats", args, {"position_stats": written})
    return 0


if __name__ == "__main__":
    sys.exit(main())
