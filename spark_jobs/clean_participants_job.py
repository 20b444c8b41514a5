"""spark-submit spark_jobs/clean_participants_job.py --date YYYY-MM-DD [--end-date YYYY-MM-DD] --lake-root URI

Raw matches of the date range -> cleaned participants (+ their match versions) + clean-stage quarantine,
replacing those dates; prints the other dates that now hold a superseded copy of a match (re-run them).
"""

from __future__ import annotations

import sys
import uuid

from spark_jobs.job_cli import parse_args, report, spark_session
from spark_jobs.jobs import clean_dates, commit_clean
from spark_jobs.lake_commit import Staging


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[2], argv)
    spark = spark_session("lol_clean_participants")
    staging = Staging(args.lake_root, f"spark-submit-{uuid.uuid4().hex}")
    run = clean_dates(spark, args.lake_root, args.dates, staging)
    # No gates here (the assets run them): the staged dates are swapped in at once, date by date.
    superseded = commit_clean(spark, staging, args.dates)
    # Dates whose copy of a match a copy in this range supersedes: re-run them (the platform's sensor does).
    stale = sorted({row.match_date for row in superseded.collect()})
    report("clean_participants", args, {"cleaned": run.cleaned_dates, "quarantine": run.quarantine_dates,
                                        "superseded (re-run these dates)": stale})  # fmt: skip
    return 0

if __name__ == "__main__":
    sys.exit(main())
