"""Bring a DataFrame to a table of the schema module: column order, Spark types and nullability.

The schema module (lol_core.schemas) is the single source of truth; everything here derives from its
`Field` lists, so a table's Spark shape is never spelled out twice.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lol_core.schemas import Field, spark_schema

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def spark_type(field: Field) -> T.DataType:
    return spark_schema([field])[0].dataType


def castable_type(field: Field) -> T.DataType:
    """The field's type as a cast target: Spark refuses to cast into an array whose elements cannot be null
    (containsNull=false), so arrays are cast with nullable elements and made non-null afterwards."""
    target = spark_type(field)
    if isinstance(target, T.ArrayType):
        return T.ArrayType(target.elementType, containsNull=True)
    return target


# Per field type, how to build its placeholder. Built on demand: every F.lit is several JVM round trips, and
# conform() runs over ~40 fields several times per run.
_PLACEHOLDERS = {
    "string": lambda: F.lit(""),
    "int16": lambda: F.lit(0).cast("smallint"),
    "int32": lambda: F.lit(0),
    "int64": lambda: F.lit(0).cast("bigint"),
    "float64": lambda: F.lit(0.0),
    "bool": lambda: F.lit(False),
    "date": lambda: F.lit(_EPOCH.date()),
    "timestamp": lambda: F.lit(_EPOCH),
}


def _placeholder(field: Field) -> Column:
    """A non-null literal of the field's type (see `conform` for why it exists)."""
    return _PLACEHOLDERS[field.type]()


def _non_null(column: Column, field: Field) -> Column:
    if field.type == "list<int32>":
        return F.coalesce(column, F.array().cast("array<int>"))
    return F.coalesce(column, _placeholder(field))


def _non_null_elements(array: Column) -> Column:
    # transform() with a non-null element expression is what makes Spark say containsNull=false.
    return F.transform(array, lambda element: F.coalesce(element, F.lit(0)))


def conform_column(column: Column, field: Field) -> Column:
    typed = column.cast(castable_type(field))
    if not field.nullable:
        typed = _non_null(typed, field)
    if field.type == "list<int32>":
        typed = _non_null_elements(typed)
    return typed.alias(field.name)


def conform(df: DataFrame, fields: list[Field]) -> DataFrame:
    """Exactly `fields`, in order, with their Spark types and nullability.

    Spark cannot be told that a column "has no nulls" except through an expression it can prove non-null,
    so non-nullable columns are wrapped in coalesce(column, placeholder). Callers only conform data whose
    non-nullable columns were already checked (cleaning quarantines nulls; aggregates are never null), so
    the placeholder is never taken: it only makes df.schema equal the contract.
    """
    return df.select(*[conform_column(F.col(f.name), f) for f in fields])


def empty_frame(spark: SparkSession, fields: list[Field]) -> DataFrame:
    return spark.createDataFrame([], spark_schema(fields))
