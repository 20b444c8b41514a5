"""spark-submit spark_jobs/position_stats_job.py --date YYYY-MM-DD [--end-date YYYY-MM-DD] --lake-root URI

Cleaned participants of the date range -> daily position stats, replacing those dates.
"""

from __future__ import annotations

import sys

from spark_jobs.job_cli import parse_args, report, spark_session
from spark_jobs.jobs import POSITION_STATS, stats_dates


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[2], argv)
    run = stats_dates(spark_session("lol_position_stats"), args.lake_root, args.dates, POSITION_STATS)
    report("position_stats", args, {"position_stats": run.dates})
    return 0

if __name__ == "__main__":
    sys.exit(main())
