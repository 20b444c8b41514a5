"""Reading and writing the lake for a date range; shared by the spark-submit jobs and the Dagster assets.

Each function takes the SparkSession (or a DataFrame), the lake root URI and a `DateRange` (inclusive).
Files are listed through Spark's own Hadoop FileSystem, so the same code serves file://, hdfs:// and s3://.
"""

from __future__ import annotations

import datetime as dt
import functools

from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lol_core import lake_paths
from lol_core.dates import DateRange
from lol_core.schemas import CHAMPION_STATS, CLEANED_PARTICIPANTS, POSITION_STATS, RAW_PARTICIPANTS, Field, spark_schema
from spark_jobs.cleaning import (
    MATCH_VERSIONS,
    QUARANTINE_OUTPUT,
    RAW_PARTITION_DATE,
    match_versions,
    superseded_versions,
)
from lol_core.lake_paths import SPARK_LAKE_SETTINGS, PartitionedTable
from spark_jobs.schema_conform import conform, empty_frame

def configure(spark: SparkSession) -> SparkSession:
    """Apply the SQL settings every lake write relies on (runtime settings: safe on a shared session)."""
    for key, value in SPARK_LAKE_SETTINGS.items():
        spark.conf.set(key, value)
    return spark


# -- reading -----------------------------------------------------------------------------------------------


def read_raw(spark: SparkSession, root: str, dates: DateRange) -> DataFrame:
    """Raw participant rows of the dates in range (missing dates are skipped), as stored, plus
    RAW_PARTITION_DATE: the date directory each row came from (clean_participants uses it)."""
    files = [(day, uri) for day in dates for uri in _raw_files(spark, root, day)]
    if not files:
        return empty_frame(spark, RAW_PARTICIPANTS).withColumn(RAW_PARTITION_DATE, F.lit(None).cast("date"))
    try:
        raw = spark.read.option("mergeSchema", "true").parquet(*[uri for _, uri in files])
    except (PySparkException, Py4JJavaError) as error:
        if "CANNOT_MERGE_SCHEMAS" not in str(error):
            raise
        # Files of incompatible types (a foreign writer): read each one as text; cleaning try-casts it.
        return _read_each_as_text(spark, files)
    return raw.withColumn(RAW_PARTITION_DATE, _date_of_raw_file(F.col("_metadata.file_path")))


def read_cleaned(spark: SparkSession, root: str, dates: DateRange) -> DataFrame:
    """Cleaned participants of the dates in range, with exactly the CLEANED_PARTICIPANTS columns."""
    return _read_partitions(spark, root, lake_paths.CLEANED_PARTICIPANTS, CLEANED_PARTICIPANTS, dates)


def read_champion_stats(spark: SparkSession, root: str, dates: DateRange) -> DataFrame:
    return _read_partitions(spark, root, lake_paths.CHAMPION_STATS, CHAMPION_STATS, dates)


def read_position_stats(spark: SparkSession, root: str, dates: DateRange) -> DataFrame:
    return _read_partitions(spark, root, lake_paths.POSITION_STATS, POSITION_STATS, dates)


def read_quarantine(spark: SparkSession, root: str, dates: DateRange) -> DataFrame:
    """The clean stage's quarantine rows of the dates in range (QUARANTINE columns + their date)."""
    return _read_partitions(spark, root, lake_paths.CLEAN_QUARANTINE, QUARANTINE_OUTPUT, dates)


def read_match_versions(spark: SparkSession, root: str, dates: DateRange) -> DataFrame:
    """The match versions (MATCH_VERSIONS) kept on the dates in range."""
    return _read_partitions(spark, root, lake_paths.MATCH_VERSIONS, MATCH_VERSIONS, dates)


def read_match_versions_elsewhere(
    spark: SparkSession, root: str, dates: DateRange, match_ids: DataFrame | None = None
) -> DataFrame:
    """The match versions kept on every date outside `dates`, only of `match_ids` (a match_id column)
    when given. Reads the compact versions table only: its five columns, every date but the range's."""
    table = lake_paths.MATCH_VERSIONS
    if not _exists(spark, table.uri(root)):
        return empty_frame(spark, MATCH_VERSIONS)
    versions = spark.read.schema(spark_schema(MATCH_VERSIONS)).parquet(table.uri(root))
    versions = versions.where(~F.col(table.partition_column).between(F.lit(dates.start), F.lit(dates.end)))  # partition pruning
    if match_ids is not None:
        versions = versions.join(match_ids.select("match_id").distinct(), "match_id", "left_semi")
    return conform(versions, MATCH_VERSIONS)


def find_superseded(spark: SparkSession, root: str, dates: DateRange) -> DataFrame:
    """The match versions, in range or on another date, that a newer copy of the same match kept on another
    date supersedes (spark_jobs.cleaning.superseded_versions), among the matches kept in range. Read after
    the range is written: a date it names holds a copy it must drop, so that date is stale downstream."""
    ours = read_match_versions(spark, root, dates)
    return superseded_versions(ours.unionByName(read_match_versions_elsewhere(spark, root, dates, ours)))


def _read_partitions(
    spark: SparkSession, root: str, table: PartitionedTable, fields: list[Field], dates: DateRange
) -> DataFrame:
    # Only the partitions in range are listed and read, never the whole table.
    partitions = _existing_partitions(spark, root, table, dates)
    if not partitions:
        return empty_frame(spark, fields)
    df = spark.read.option("basePath", table.uri(root)).parquet(*partitions)
    return conform(df, fields)


def _raw_files(spark: SparkSession, root: str, day: dt.date) -> list[str]:
    fs, pattern = _hadoop_path(spark, lake_paths.join(lake_paths.raw_day_uri(root, day), "*.parquet"))
    statuses = fs.globStatus(pattern) or []  # null when the directory does not exist
    # Hidden and in-flight files (_tmp.*, .crc) are not data.
    return sorted(
        str(s.getPath().toString()) for s in statuses if s.isFile() and not s.getPath().getName().startswith(("_", "."))
    )


def _date_of_raw_file(path: Column) -> Column:
    return F.to_date(F.regexp_extract(path, r"/(\d{4}/\d{2}/\d{2})/[^/]+$", 1), "yyyy/MM/dd")


def _read_each_as_text(spark: SparkSession, files: list[tuple[dt.date, str]]) -> DataFrame:
    frames = [_as_text(spark.read.parquet(uri)).withColumn(RAW_PARTITION_DATE, F.lit(day)) for day, uri in files]
    return functools.reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)


def _as_text(df: DataFrame) -> DataFrame:
    def text(field: T.StructField) -> Column:
        column = F.col(f"`{field.name}`")
        nested = isinstance(field.dataType, (T.ArrayType, T.MapType, T.StructType))
        return (F.to_json(column) if nested else column.cast("string")).alias(field.name)

    return df.select(*[text(field) for field in df.schema.fields])


# -- writing -----------------------------------------------------------------------------------------------


# Each returns the dates that now hold rows; the other dates of the range hold none.


def write_cleaned(cleaned: DataFrame, root: str, dates: DateRange) -> list[dt.date]:
    """Replace the cleaned participants of `dates`, then their match versions, derived from what was
    written (five columns read back), so the two tables always describe the same rows."""
    rows = conform(cleaned, CLEANED_PARTICIPANTS)
    with_rows = _replace_partitions(rows, root, lake_paths.CLEANED_PARTICIPANTS, dates)
    written = read_cleaned(rows.sparkSession, root, dates)
    _replace_partitions(match_versions(written), root, lake_paths.MATCH_VERSIONS, dates)
    return with_rows


def write_quarantine(quarantine: DataFrame, root: str, dates: DateRange) -> list[dt.date]:
    rows = conform(quarantine, QUARANTINE_OUTPUT)
    return _replace_partitions(rows, root, lake_paths.CLEAN_QUARANTINE, dates)


def write_champion_stats(stats: DataFrame, root: str, dates: DateRange) -> list[dt.date]:
    return _replace_partitions(conform(stats, CHAMPION_STATS), root, lake_paths.CHAMPION_STATS, dates)


def write_position_stats(stats: DataFrame, root: str, dates: DateRange) -> list[dt.date]:
    return _replace_partitions(conform(stats, POSITION_STATS), root, lake_paths.POSITION_STATS, dates)


def _replace_partitions(df: DataFrame, root: str, table: PartitionedTable, dates: DateRange) -> list[dt.date]:
    """Make the table's partitions for `dates` hold exactly df's rows; returns the dates that have rows.

    Dynamic overwrite replaces the dates df carries; dates in range that df no longer has (all their rows
    were quarantined, or their input is gone) are deleted afterwards, so a re-run never leaves stale data.
    """
    spark = configure(df.sparkSession)
    # Callers pass frames derived from persisted ones, so listing the dates does not recompute a lineage.
    written = [row[0] for row in df.select(table.partition_column).distinct().collect()]
    _refuse_dates_outside(table, written, dates)
    (
        df.repartition(table.partition_column)  # one task per date writes one file per partition
        .write.mode("overwrite")
        .option("partitionOverwriteMode", "dynamic")
        .option("compression", "snappy")
        .partitionBy(table.partition_column)
        .parquet(table.uri(root))
    )
    for day in sorted(set(dates) - set(written)):  # dates whose rows are all gone
        _delete_if_exists(spark, table.partition_uri(root, day))
    return sorted(written)


def _refuse_dates_outside(table: PartitionedTable, written: list, dates: DateRange) -> None:
    # Writing a date outside the range would replace that whole partition with a few rows.
    outside = [day for day in written if day is None or not dates.start <= day <= dates.end]
    if outside:
        raise ValueError(f"refusing to write {table.path}: rows dated {outside} are outside {dates}")


# -- Hadoop FileSystem (through the session's JVM) ---------------------------------------------------------


def _hadoop_path(spark: SparkSession, uri: str):
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def _existing_partitions(
    spark: SparkSession, root: str, table: PartitionedTable, dates: DateRange
) -> list[str]:
    uris = [table.partition_uri(root, day) for day in dates]
    return [uri for uri in uris if _exists(spark, uri)]


def _exists(spark: SparkSession, uri: str) -> bool:
    fs, path = _hadoop_path(spark, uri)
    return bool(fs.exists(path))


def _delete_if_exists(spark: SparkSession, uri: str) -> None:
    fs, path = _hadoop_path(spark, uri)
    if fs.exists(path):
        fs.delete(path, True)
