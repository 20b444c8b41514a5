"""spark-submit spark_jobs/champion_stats_job.py --date YYYY-MM-DD [--end-date YYYY-MM-DD] --lake-root URI

Cleaned participants of the date range -> daily champion stats, replacing those dates.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:
    # Run as a file by spark-submit: its folder leads sys.path (where io.py would shadow the standard
    # library's io) and the repository root is missing. Put the root there instead.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from spark_jobs import io  # noqa: E402
from spark_jobs.aggregates import champion_stats  # noqa: E402
from spark_jobs.job_cli import parse_args, report, spark_session  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[2], argv)
    spark = spark_session("lol_champion_stats")
    stats = champion_stats(io.read_cleaned(spark, args.lake_root, args.start, args.end))
    written = io.write_champion_stats(stats, args.lake_root, args.start, args.end)
    report("champion_stats", args, {"champion_stats": written})
    return 0


if __name__ == "__main__":
    sys.exit(main())
