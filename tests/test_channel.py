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
    frame(["a", "|O", [1], 0], [b"\0" * 8]),              # object dtype
    frame(["a", "<U1", [1], 0], [b"\0" * 4]),             # strings
    frame(["a", "<f8", [3], 0], [b"\0" * 8]),             # wrong size
    frame(["a", [["a", "<f8"]], [1], 0], [b"\0" * 8]),    # structured
    frame(["a", "<f8", [-1], 0], [b"\0" * 8]),            # negative shape
    frame(["a", "<f8", [1], 1], [b"\0" * 8]),             # no such buffer
    frame(["pickle", "x"]),                                 # unknown tag
    frame({"t": "v", "v": 1}),                              # an object is no value
    frame(["d", [1, 2], None]),                             # a key that is not plain
    frame(["d", "a"]),                                      # a key without a value
    frame(["o", "1", "x", 0]),                              # a handle that is not a number
    frame([]),
    pickle.dumps([1, 2, 3]),                                # a pickle
    b"\0\0",
])
def test_malformed_or_unsafe_frames_are_rejected(data):
    with pytest.raises(ProtocolError):
        decode(data)
