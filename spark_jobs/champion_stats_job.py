"""spark-submit spark_jobs/champion_stats_job.py --date YYYY-MM-DD [--end-date YYYY-MM-DD] --lake-root URI

Cleaned participants of the date range -> daily champion stats, replacing those dates.
"""

from __future__ import annotations

import sys

from spark_jobs.job_cli import parse_args, report, spark_session
from spark_jobs.jobs import CHAMPION_STATS, stats_dates


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[2], argv)
    run = stats_dates(spark_session("lol_champion_stats"), args.lake_root, args.dates, CHAMPION_STATS)
    report("champion_stats", args, {"champion_stats": run.dates})
    return 0

if __name__ == "__main__":
    sys.exit(main())
