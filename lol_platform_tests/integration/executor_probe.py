"""Run as a script (the driver): where do the executors of the platform's Spark session import from?

Prints one JSON line per task: the executor's interpreter, the files `spark_jobs.cassandra_sink`, `lol_core`
and `cassandra` were imported from, and whether `lol_platform` or `dagster` (never shipped) can be imported.
The probe is defined in `__main__`, so cloudpickle ships it by value: the executors need nothing of the tests.
"""

from __future__ import annotations

import json
import os


def probe(_rows):
    import importlib.util
    import sys

    import cassandra

    import lol_core
    import spark_jobs.cassandra_sink

    yield {
        "python": sys.executable,
        "cwd": os.getcwd(),
        "spark_jobs": spark_jobs.cassandra_sink.__file__,
        "lol_core": lol_core.__file__,
        "cassandra": cassandra.__file__,
        "cassandra_version": cassandra.__version__,
        "lol_platform_importable": importlib.util.find_spec("lol_platform") is not None,
        "dagster_importable": importlib.util.find_spec("dagster") is not None,
    }


def main() -> None:
    from lol_platform.resources.spark import spark_resource

    resource = spark_resource(os.environ)
    session = resource.spark_session
    try:
        for row in session.sparkContext.parallelize(range(4), 4).mapPartitions(probe).collect():
            print(json.dumps(row))
        print(json.dumps({"application_id": session.sparkContext.applicationId}))
    finally:
        session.stop()


if __name__ == "__main__":
    main()
