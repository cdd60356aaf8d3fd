"""The channel: the worker -> grader codec accepts plain data only and never runs code; frames are
exact and bounded; arrays cross whole, each in memory of its own."""

from __future__ import annotations

import itertools
import json
import pickle
import socket
import struct
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from grader.sandbox import worker
from grader.sandbox.channel import (GeneratorState, Opaque, ProtocolError, decode, encode, encode_parts,
                                    recv_reply, recv_request, send_frame, send_request)

ROOT = Path(__file__).resolve().parents[1]


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


def test_the_encoding_does_not_change():
    """Reference answers are stored in this format and looked up by a hash of it."""
    value = {"a": [1, (2.5, None)], 3: np.arange(2, dtype="<i4"), "s": np.float32(1.5)}
    header = ["d", "a", ["l", 1, ["t", 2.5, None]], 3, ["a", "<i4", [2], 0], "s", ["s", "<f4", 1]]
    assert encode(value) == frame(header, [np.arange(2, dtype="<i4").tobytes(), np.float32(1.5).tobytes()])
    for path in sorted(ROOT.glob("exercises/*/expected.dat")):
        assert encode(decode(path.read_bytes())) == path.read_bytes(), path


@pytest.mark.parametrize("data", [
    frame(["a", "<f8", [1], 0], [b"\0" * 8]) + b"x",         # bytes after the value
    frame(["a", "<f8", [1], -1], [b"\0" * 8]),              # a buffer counted from the end
    struct.pack("!II", 1, 2) + b"1" + struct.pack("!Q", 0) * 2,  # more buffers than header bytes
])
def test_frames_must_be_exact(data):
    with pytest.raises(ProtocolError):
        decode(data)


def test_a_buffer_named_twice_is_refused():
    """Copies of one buffer would let a worker multiply the grader's memory (10 MB sent, 1 GB
    decoded); the encoder never names a buffer twice."""
    one = [np.float64(1.0).tobytes()]
    for header in (["t", ["a", "<f8", [1], 0], ["a", "<f8", [1], 0]], ["t", ["s", "<f8", 0], ["a", "<f8", [1], 0]]):
        with pytest.raises(ProtocolError, match="used twice"):
            decode(frame(header, one))
    x, y = decode(encode((np.ones(3), np.ones(3))))
    x[0] = 5.0
    assert y[0] == 1.0  # two arrays of a real reply never share memory


def test_an_oversized_header_is_refused_before_it_is_parsed():
    from grader.sandbox.channel import MAX_HEADER
    head = b"[" + b"[]," * (MAX_HEADER // 3) + b"[]]"
    data = struct.pack("!II", len(head), 0) + head
    with pytest.raises(ProtocolError, match="larger than the limit"):
        decode(data)


def replied(value, **kwargs):
    """`value` sent by a worker over a socket and received by the grader."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        sender = threading.Thread(target=send_frame, args=(theirs, encode_parts(value)))
        sender.start()
        try:
            return recv_reply(ours, deadline=time.monotonic() + 10, **kwargs)
        finally:
            sender.join()


def test_replies_arrive_whole_as_arrays_with_memory_of_their_own():
    big = np.arange(300_000, dtype=np.float64).reshape(600, 500)  # larger than one read ahead
    back = replied({"out": big, "mask": big % 3 == 0, "small": np.ones(3, np.float32),
                    "n": np.int16(3), "t": (1, "x")})
    assert np.array_equal(back["out"], big) and back["out"].dtype == big.dtype
    assert np.array_equal(back["mask"], big % 3 == 0) and back["mask"].dtype == bool
    assert type(back["n"]) is np.int16 and back["n"] == 3 and back["t"] == (1, "x")
    arrays = [back["out"], back["mask"], back["small"]]
    assert all(type(a) is np.ndarray and a.flags.writeable and a.flags.aligned for a in arrays)
    assert not any(np.shares_memory(a, b) for a, b in itertools.combinations(arrays, 2))


def test_a_reply_larger_than_the_limit_is_refused_before_it_is_read():
    with pytest.raises(ProtocolError, match="larger than the limit"):
        replied(np.zeros(1000), max_size=1000)


def test_the_deadline_bounds_the_whole_reply_not_each_read():
    ours, theirs = socket.socketpair()
    stop = threading.Event()

    def trickle():
        theirs.sendall(struct.pack("!Q", 1000))
        while not stop.wait(0.02):  # a byte at a time: no single read waits long
            theirs.sendall(b"x")

    sender = threading.Thread(target=trickle)
    sender.start()
    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError):
            recv_reply(ours, deadline=time.monotonic() + 0.3)
        assert time.monotonic() - started < 10  # per-read deadlines would take 20 s (1000 bytes, 0.02 s each)
    finally:
        stop.set()
        sender.join()
        ours.close()
        theirs.close()


def test_requests_carry_arrays_exactly_each_in_memory_of_its_own():
    big = np.arange(200_000, dtype=np.float64).reshape(400, 500)
    frozen = np.arange(2000.0)
    frozen.setflags(write=False)
    args = (big, big, np.asfortranarray(big), big[:, ::2], np.arange(5), frozen,
            GeneratorState.of(np.random.default_rng(3)))
    ours, theirs = socket.socketpair()
    with ours, theirs:
        sender = threading.Thread(target=send_request, args=(ours, {"calls": [args]}))
        sender.start()
        back = recv_request(theirs)["calls"][0]
        sender.join()
    assert back[0] is back[1]  # one object passed twice stays one object, as in a local call
    assert back[2].flags.f_contiguous and not back[2].flags.c_contiguous
    for sent, got in zip(args[1:6], back[1:6]):
        assert type(got) is np.ndarray and got.dtype == sent.dtype and np.array_equal(got, sent)
        assert got.flags.aligned and got.flags.writeable == sent.flags.writeable
    assert not any(np.shares_memory(a, b) for a, b in itertools.combinations(back[1:6], 2))
    assert back[6] == args[6]


@pytest.mark.parametrize("before, now, same", [
    (np.array([1.0, np.nan]), np.array([1.0, np.nan]), True),
    (np.array([-0.0]), np.array([0.0]), True),                         # equal numbers, other bits
    (np.array([1.0, 2.0]), np.array([1.0, 3.0]), False),
    (np.zeros(10**5), np.zeros(10**5), True),                          # large: compared as numbers
    (np.zeros(10**5), np.where(np.arange(10**5) == 7, 1.0, 0.0), False),
    (np.zeros(4), np.zeros(4, dtype=np.float32), False),
    (np.zeros((2, 2)), np.zeros(4), False),
])
def test_the_worker_tells_a_changed_argument_by_its_values(before, now, same):
    assert worker._same(before, now) is same
