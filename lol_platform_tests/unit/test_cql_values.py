"""The publish's column encoders give, value for value, the bytes cassandra-driver's own serializers give."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from cassandra import cqltypes

from spark_jobs import cql_values

UTC = dt.timezone.utc

# (CQL type, an Arrow column as mapInArrow hands it over); its to_pylist() is what the driver used to be given
CASES = [
    ("int", pa.array([0, 1, -1, 2**31 - 1, -(2**31), None], pa.int32())),
    ("smallint", pa.array([0, 7, -3, 2**15 - 1, -(2**15), None], pa.int16())),
    ("bigint", pa.array([0, 5, -5, 2**63 - 1, -(2**63), None], pa.int64())),
    ("double", pa.array([0.0, -1.5, 3.141592653589793, 1e308, float("inf"), None], pa.float64())),
    ("float", pa.array([0.0, -1.5, 0.25, None], pa.float32())),
    ("boolean", pa.array([True, False, None], pa.bool_())),
    ("date", pa.array([dt.date(2025, 3, 20), dt.date(1970, 1, 1), dt.date(1969, 12, 31), dt.date(1, 1, 1), None], pa.date32())),
    ("timestamp", pa.array([dt.datetime(2025, 3, 20, 12, 30, 1, 123456, tzinfo=UTC), dt.datetime(1970, 1, 1, tzinfo=UTC),
                            dt.datetime(1969, 12, 31, 23, 59, 59, 999500, tzinfo=UTC), None], pa.timestamp("us", tz="UTC"))),
    ("text", pa.array(["EUW1_1", "", "Ünïcødé 🎮", "x" * 1000, None], pa.string())),
    ("list<int>", pa.array([[1, 2, 3, 4, 5], [], [-(2**31), 2**31 - 1], None], pa.list_(pa.int32()))),
]

DRIVER_TYPES = {
    "int": cqltypes.Int32Type, "smallint": cqltypes.ShortType, "bigint": cqltypes.LongType, "double": cqltypes.DoubleType,
    "float": cqltypes.FloatType, "boolean": cqltypes.BooleanType, "date": cqltypes.SimpleDateType,
    "timestamp": cqltypes.DateType, "text": cqltypes.UTF8Type, "list<int>": cqltypes.ListType.apply_parameters([cqltypes.Int32Type]),
}  # fmt: skip


@pytest.mark.parametrize(("type_name", "column"), CASES, ids=[c[0] for c in CASES])
def test_each_value_is_the_drivers_serialization(type_name, column):
    cql_type = DRIVER_TYPES[type_name]
    assert cql_type.cql_parameterized_type() == type_name
    encoded = cql_values.encoder(cql_type)(column)
    expected = [None if v is None else cql_type.serialize(v, 5) for v in column.to_pylist()]
    assert encoded == expected


def test_an_int_column_given_as_int64_is_range_checked_not_wrapped():
    encode = cql_values.encoder(cqltypes.Int32Type)
    assert encode(pa.array([12], pa.int64())) == [cqltypes.Int32Type.serialize(12, 5)]
    with pytest.raises(pa.ArrowInvalid):
        encode(pa.array([2**31], pa.int64()))


def test_a_list_with_a_null_item_is_refused():
    with pytest.raises(ValueError, match="null item"):
        cql_values.encoder(cqltypes.ListType.apply_parameters([cqltypes.Int32Type]))(pa.array([[1, None]], pa.list_(pa.int32())))


def test_a_type_without_a_fast_path_goes_through_the_driver():
    cql_type = cqltypes.IntegerType
    assert cql_values.encoder(cql_type)(pa.array([-(2**62), None])) == [cql_type.serialize(-(2**62), 5), None]
