"""The wire between the trusted grader and the worker.

Trusted -> worker: pickle (the trusted side only sends what it created itself).
Worker -> trusted: a safe codec that accepts plain data only. A frame is a JSON header
describing the value plus raw byte buffers for arrays. Decoding never executes code and
only ever builds exact `numpy.ndarray`s of numeric dtype, numpy scalars, Python numbers,
strings, None, and tuples, lists and dicts of these. Anything else the worker holds
stays there and crosses as an `Opaque` handle.
"""

from __future__ import annotations

import json
import pickle
import socket
import struct
import time
from dataclasses import dataclass

import numpy as np

NUMERIC_KINDS = "biufc"  # bool, signed, unsigned, float, complex
MAX_FRAME = 1 << 31      # 2 GiB: anything larger is a protocol violation
MAX_DEPTH = 32


class ProtocolError(Exception):
    """The worker sent something that is not a valid frame of plain data."""


@dataclass(frozen=True)
class Opaque:
    """A worker-side object that is not plain data, referred to by number."""

    handle: int
    type_name: str
    generation: int = 0

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


@dataclass(frozen=True)
class GeneratorState:
    """A `numpy.random.Generator` on its way to the worker: the name of its bit generator
    and its state (plain integers). Rebuilding a generator from this is several times
    cheaper than unpickling one, and numerical gradients send hundreds."""

    bit_generator: str
    state: dict

    @classmethod
    def of(cls, generator: np.random.Generator) -> "GeneratorState":
        return cls(type(generator.bit_generator).__name__, generator.bit_generator.state)


# ---------------------------------------------------------------- framing

def send_frame(sock: socket.socket, payload: bytes | list) -> None:
    """Send one frame: its length, then the payload (bytes, or a list of buffers sent
    without joining them first, so large arrays are not copied again)."""
    parts = payload if isinstance(payload, list) else [payload]
    size = sum(memoryview(p).nbytes for p in parts)
    if size < 1 << 16:
        sock.sendall(b"".join([struct.pack("!Q", size), *parts]))
        return
    sock.sendall(struct.pack("!Q", size))
    for part in parts:
        sock.sendall(part)


def recv_frame(sock: socket.socket, *, deadline: float | None = None,
               max_size: int = MAX_FRAME) -> bytearray:
    """One frame. `deadline` (time.monotonic()) bounds the whole frame, not each read, so a
    sender cannot stretch a time limit by trickling bytes; `max_size` bounds the memory a
    sender can make us allocate."""
    (size,) = struct.unpack("!Q", _recv_exact(sock, 8, deadline))
    if size > max_size:
        raise ProtocolError(f"a reply of {size} bytes is larger than the limit of {max_size} bytes")
    return _recv_exact(sock, size, deadline)


def _recv_exact(sock: socket.socket, size: int, deadline: float | None = None) -> bytearray:
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no complete reply before the deadline")
            sock.settimeout(left)
        n = sock.recv_into(view[got:], size - got)
        if n == 0:
            raise EOFError("the other side closed the connection")
        got += n
    return buf


def send_request(sock: socket.socket, request: dict) -> None:
    """Trusted side -> worker (pickle is fine in this direction)."""
    send_frame(sock, pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))


def recv_request(sock: socket.socket) -> dict:
    return pickle.loads(recv_frame(sock))


# ---------------------------------------------------------------- plain-data codec

def encode(value, opaque=None) -> bytes:
    """Encode plain data; `opaque(obj) -> Opaque` handles everything else (worker side)."""
    return b"".join(encode_parts(value, opaque))


def encode_parts(value, opaque=None) -> list:
    """`encode` as a list of buffers (arrays are not copied into one bytes object)."""
    buffers: list = []
    header = _encode(value, buffers, opaque, 0)
    head = json.dumps(header, allow_nan=True).encode()
    parts = [struct.pack("!II", len(head), len(buffers)), head]
    for b in buffers:
        parts.append(struct.pack("!Q", b.nbytes))
        parts.append(b)
    return parts


# The header is JSON: None, booleans, integers, floats (NaN and infinities included) and
# strings are themselves; everything else is a list whose first item is a tag:
#   ["t", item, ...] tuple      ["l", item, ...] list     ["d", key, value, ...] dict
#   ["a", dtype, shape, i] array whose bytes are buffer i     ["s", dtype, i] numpy scalar
#   ["c", real, imag] complex   ["o", handle, type name, generation] an opaque handle
_SCALARS = (type(None), bool, int, float, str)


def _encode(value, buffers, opaque, depth):
    if depth > MAX_DEPTH:
        raise ValueError("value nested too deeply")
    t = type(value)
    if t in _SCALARS:
        return value
    if t is tuple or t is list:
        return ["t" if t is tuple else "l", *(_encode(v, buffers, opaque, depth + 1) for v in value)]
    if t is np.ndarray and value.dtype.kind in NUMERIC_KINDS:
        buffers.append(memoryview(np.ascontiguousarray(value).reshape(-1).view(np.uint8)))
        return ["a", value.dtype.str, list(value.shape), len(buffers) - 1]
    if isinstance(value, np.generic) and t.__module__ == "numpy" and value.dtype.kind in NUMERIC_KINDS:
        buffers.append(memoryview(value.tobytes()))
        return ["s", value.dtype.str, len(buffers) - 1]
    if t is dict and all(type(k) in (str, int) for k in value):
        out = ["d"]
        for k, v in value.items():
            out += [k, _encode(v, buffers, opaque, depth + 1)]
        return out
    if t is complex:
        return ["c", value.real, value.imag]
    if opaque is None:
        raise TypeError(f"{t.__name__} is not plain data")
    o = opaque(value)
    return ["o", o.handle, o.type_name, o.generation]


def decode(data: bytes | bytearray):
    """Decode a frame from the worker. Raises ProtocolError on anything unexpected."""
    data = memoryview(data)
    try:
        n_head, n_buf = struct.unpack_from("!II", data, 0)
        pos = 8
        header = json.loads(bytes(data[pos:pos + n_head]))
        pos += n_head
        buffers = []
        for _ in range(n_buf):
            (size,) = struct.unpack_from("!Q", data, pos)
            pos += 8
            if pos + size > len(data):
                raise ProtocolError("truncated buffer")
            buffers.append(data[pos:pos + size])
            pos += size
        return _decode(header, buffers, 0)
    except ProtocolError:
        raise
    except Exception as exc:  # malformed JSON, bad struct, wrong types: all the worker's fault
        raise ProtocolError(f"malformed reply: {type(exc).__name__}: {exc}") from None


def _decode(h, buffers, depth):
    t = type(h)
    if t in _SCALARS:
        return h
    if t is not list or not h or depth > MAX_DEPTH:
        raise ProtocolError("malformed value")
    tag = h[0]
    if tag == "t" or tag == "l":
        items = [_decode(v, buffers, depth + 1) for v in h[1:]]
        return tuple(items) if tag == "t" else items
    if tag == "a" or tag == "s":
        dtype = np.dtype(_str(h[1]))
        if dtype.kind not in NUMERIC_KINDS or dtype.hasobject or dtype.fields:
            raise ProtocolError(f"dtype {dtype} is not numeric")
        raw = buffers[_int(h[-1])]
        if tag == "s":
            if len(h) != 3 or len(raw) != dtype.itemsize:
                raise ProtocolError("scalar size mismatch")
            return np.frombuffer(raw, dtype=dtype)[0]
        shape = tuple(_int(n) for n in h[2])
        if len(h) != 4 or any(n < 0 for n in shape) or \
                int(np.prod(shape, dtype=np.int64)) * dtype.itemsize != len(raw):
            raise ProtocolError("array size does not match its shape")
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if tag == "d":
        if len(h) % 2 != 1:
            raise ProtocolError("malformed dict")
        out = {}
        for k, v in zip(h[1::2], h[2::2]):
            if type(k) not in (str, int):
                raise ProtocolError("dict key is not a string or integer")
            out[k] = _decode(v, buffers, depth + 1)
        return out
    if tag == "c" and len(h) == 3 and all(type(x) in (int, float) for x in h[1:]):
        return complex(h[1], h[2])
    if tag == "o" and len(h) == 4:
        return Opaque(_int(h[1]), _str(h[2])[:100], _int(h[3]))
    raise ProtocolError(f"unknown value tag {tag!r}")


def _int(v) -> int:
    if type(v) is not int:
        raise ProtocolError("expected an integer")
    return v


def _str(v) -> str:
    if type(v) is not str:
        raise ProtocolError("expected a string")
    return v
