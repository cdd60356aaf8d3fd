"""The worker -> grader codec accepts plain data only and never runs code."""

from __future__ import annotations

import json
import pickle
import struct

import numpy as np
import pytest

from grader.sandbox.channel import Opaque, ProtocolError, decode, encode


def test_plain_data_round_trips_exactly():
    value = (np.arange(6.0).reshape(2, 3), np.ones(3, dtype=np.int32), np.float32(2.5), 3, -2**70,
             1.5, float("inf"), 1 + 2j, "text", None, True, [1, (2, 3)], {"W1": np.zeros((2, 2)), 4: "x"})
    back = decode(encode(value))
    assert type(back) is tuple and len(back) == len(value)
    assert type(back[0]) is np.ndarray and np.array_equal(back[0], value[0])
    assert back[1].dtype == np.int32 and type(back[2]) is np.float32
    assert back[3:11] == value[3:11]
    assert back[11] == [1, (2, 3)] and np.array_equal(back[12]["W1"], value[12]["W1"])


class Sub(np.ndarray):
    pass


@pytest.mark.parametrize("value", [
    np.arange(3.0).view(Sub),               # an ndarray subclass
    np.array([object()], dtype=object),     # an object array
    np.array(["a"]),                        # not numeric
    object(),
    {(1, 2): 3},                            # a key that is not plain
])
def test_anything_else_needs_a_handle(value):
    with pytest.raises(TypeError):
        encode(value)
    handle = decode(encode(value, lambda obj: Opaque(7, type(obj).__name__)))
    assert isinstance(handle, Opaque) and handle.handle == 7


def frame(header, buffers=()):
    head = json.dumps(header).encode()
    out = struct.pack("!II", len(head), len(buffers)) + head
    for b in buffers:
        out += struct.pack("!Q", len(b)) + b
    return out


@pytest.mark.parametrize("data", [
    frame({"t": "nd", "dtype": "|O", "shape": [1], "b": 0}, [b"\0" * 8]),            # object dtype
    frame({"t": "nd", "dtype": "<U1", "shape": [1], "b": 0}, [b"\0" * 4]),           # strings
    frame({"t": "nd", "dtype": "<f8", "shape": [3], "b": 0}, [b"\0" * 8]),           # wrong size
    frame({"t": "nd", "dtype": [["a", "<f8"]], "shape": [1], "b": 0}, [b"\0" * 8]),  # structured
    frame({"t": "pickle", "v": "x"}),                                                # unknown tag
    frame({"t": "v", "v": [1, 2]}),                                                  # not a scalar
    frame({"t": "dict", "v": [[{"t": "float", "v": "0x1p0"}, {"t": "v", "v": None}]]}),
    pickle.dumps([1, 2, 3]),                                                         # a pickle
    b"\0\0",
])
def test_malformed_or_unsafe_frames_are_rejected(data):
    with pytest.raises(ProtocolError):
        decode(data)
