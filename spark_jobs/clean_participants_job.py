"""spark-submit spark_jobs/clean_participants_job.py --date YYYY-MM-DD [--end-date YYYY-MM-DD] --lake-root URI

Raw matches of the date range -> cleaned participants (+ their match versions) + clean-stage quarantine,
replacing those dates; prints the other dates that now hold a superseded copy of a match (re-run them).
"""

from __future__ import annotations

import sys

from spark_jobs import lake_io
from spark_jobs.cleaning import clean_participants
from spark_jobs.job_cli import parse_args, report, spark_session


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[2], argv)
    spark = spark_session("lol_clean_participants")
    elsewhere = lake_io.read_match_versions_elsewhere(spark, args.lake_root, args.start, args.end)
    result = clean_participants(lake_io.read_raw(spark, args.lake_root, args.start, args.end), versions_elsewhere=elsewhere)
    cleaned = lake_io.write_cleaned(result.cleaned, args.lake_root, args.start, args.end)
    quarantined = lake_io.write_quarantine(result.quarantine, args.lake_root, args.start, args.end)
    # Dates whose copy of a match a copy in this range supersedes: re-run them (the platform's sensor does).
    stale = sorted({row.match_date for row in lake_io.find_superseded(spark, args.lake_root, args.start, args.end).collect()})
    report("clean_participants", args, {"cleaned": cleaned, "quarantine": quarantined, "superseded (re-run these dates)": stale})
    return 0


if __name__ == "__main__":
    sys.exit(main())
