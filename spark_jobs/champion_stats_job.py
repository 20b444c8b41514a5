"""spark-submit spark_jobs/champion_stats_job.py --date YYYY-MM-DD [--end-date YYYY-MM-DD] --lake-root URI

Cleaned participants of the date range -> daily champion stats, replacing those dates.
"""

from __future__ import annotations

import sys

from spark_jobs import lake_io
from spark_jobs.aggregates import champion_stats
from spark_jobs.job_cli import parse_args, report, spark_session


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[2], argv)
    spark = spark_session("lol_champion_stats")
    stats = champion_stats(lake_io.read_cleaned(spark, args.lake_root, args.start, args.end))
    written = lake_io.write_champion_stats(stats, args.lake_root, args.start, args.end)
    report("champion_stats", args, {"champion_stats": written})
    return 0


if __name__ == "__main__":
    sys.exit(main())
