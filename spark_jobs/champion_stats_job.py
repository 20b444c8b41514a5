"""spark-submit spark_jobs/champion_stats_job.py --date YYYY-MM-DD [--end-date YYYY-MM-DD] --lake-root URI

Cleaned participants of the date range -> daily champion stats, replacing those dates.
"""

from __future__ import annotations

import sys

from spark_jobs.job_cli import stats_main
from spark_jobs.jobs import CHAMPION_STATS


def main(argv: list[str] | None = None) -> int:
    return stats_main(CHAMPION_STATS, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
