"""spark-submit spark_jobs/clean_participants_job.py --date YYYY-MM-DD [--end-date YYYY-MM-DD] --lake-root URI

Raw matches of the date range -> cleaned participants (+ their match versions) + clean-stage quarantine,
replacing those dates; prints the other dates that now hold a superseded copy of a match (re-run them).
"""

from __future__ import annotations

import sys

from spark_jobs.job_cli import parse_args, report, spark_session
from spark_jobs.jobs import clean_dates


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[2], argv)
    run = clean_dates(spark_session("lol_clean_participants"), args.lake_root, args.dates)
    # Dates whose copy of a match a copy in this range supersedes: re-run them (the platform's sensor does).
    stale = sorted({row.match_date for row in run.superseded.collect()})
    report("clean_participants", args, {"cleaned": run.cleaned_dates, "quarantine": run.quarantine_dates,
                                        "superseded (re-run these dates)": stale})  # fmt: skip
    return 0

if __name__ == "__main__":
    sys.exit(main())
