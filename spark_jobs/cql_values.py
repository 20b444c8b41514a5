"""Arrow columns -> CQL values as the native protocol carries them (the bytes cassandra-driver's `bind` makes).

Binding a prepared statement serializes value by value in Python: for a 37-column row it was most of the
publish's client CPU. Here each column is converted at once with Arrow and numpy, and only the slicing into
per-row values stays in Python. The bytes are the driver's own (lol_platform_tests/unit/test_cql_values.py
compares them with cassandra.cqltypes for every type); a type without a fast path goes through the driver.

Pure: imports pyarrow, numpy and the driver's type classes only (it runs in Spark's Python workers).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import numpy as np
import pyarrow as pa

PROTOCOL_VERSION = 4  # value encodings are the same from v3 on
Encoder = Callable[[pa.Array], list]


def encoder(cql_type) -> Encoder:
    """The column encoder for a cassandra.cqltypes type (e.g. a prepared statement's column_metadata[i].type)."""
    name = cql_type.typename
    if name in _FIXED:
        arrow_type, numpy_type = _FIXED[name]
        return lambda array: _fixed_width(array, arrow_type, numpy_type)
    if name in _BY_NAME:
        return _BY_NAME[name]
    if name == "list" and cql_type.subtypes[0].typename == "int":
        return _int_lists
    return lambda array: [None if v is None else cql_type.serialize(v, PROTOCOL_VERSION) for v in array.to_pylist()]


def _fixed_width(array: pa.Array, arrow_type: pa.DataType, numpy_type: str) -> list:
    # A checked cast: a value out of the column's range raises, as the driver's struct.pack does.
    typed = array.cast(arrow_type)
    return _sliced(typed.fill_null(0).to_numpy(zero_copy_only=False).astype(numpy_type), typed)


def _sliced(big_endian: np.ndarray, typed: pa.Array) -> list:
    data, width = big_endian.tobytes(), big_endian.dtype.itemsize
    values = [data[i : i + width] for i in range(0, len(data), width)]
    if typed.null_count:
        for i in np.flatnonzero(typed.is_null().to_numpy(zero_copy_only=False)):
            values[i] = None
    return values


def _booleans(array: pa.Array) -> list:
    typed = array.cast(pa.bool_())
    return _sliced(typed.fill_null(False).to_numpy(zero_copy_only=False).astype("u1"), typed)


def _dates(array: pa.Array) -> list:
    """CQL date: days since 1970-01-01 as an unsigned int centred on 2**31."""
    typed = array.cast(pa.date32())
    days = typed.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False).astype("i8")
    return _sliced((days + 2**31).astype(">u4"), typed)


def _timestamps(array: pa.Array) -> list:
    """CQL timestamp: milliseconds since the epoch, truncated toward zero as the driver does."""
    typed = array if pa.types.is_timestamp(array.type) else array.cast(pa.timestamp("us", tz="UTC"))
    micros = typed.cast(pa.timestamp("us", tz=typed.type.tz)).cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    millis = np.where(micros < 0, -((-micros) // 1000), micros // 1000)
    return _sliced(millis.astype(">i8"), typed)


def _texts(array: pa.Array) -> list:
    return [None if s is None else s.encode("utf-8") for s in array.cast(pa.string()).to_pylist()]


_INT32 = struct.Struct(">i")
_ITEM_LENGTH = _INT32.pack(4)


def _int_lists(array: pa.Array) -> list:
    """CQL list<int>: the item count, then each item as [length 4][int32]."""
    out = []
    for items in array.to_pylist():
        if items is None:
            out.append(None)
            continue
        if any(item is None for item in items):
            raise ValueError(f"a list<int> value holds a null item: {items}")
        out.append(b"".join([_INT32.pack(len(items)), *(_ITEM_LENGTH + _INT32.pack(item) for item in items)]))
    return out


_FIXED = {
    "int": (pa.int32(), ">i4"),
    "smallint": (pa.int16(), ">i2"),
    "tinyint": (pa.int8(), ">i1"),
    "bigint": (pa.int64(), ">i8"),
    "counter": (pa.int64(), ">i8"),
    "double": (pa.float64(), ">f8"),
    "float": (pa.float32(), ">f4"),
}
_BY_NAME = {"boolean": _booleans, "date": _dates, "timestamp": _timestamps, "text": _texts, "varchar": _texts}
