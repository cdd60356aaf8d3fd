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


def recv_frame(sock: socket.socket) -> bytearray:
    (size,) = struct.unpack("!Q", _recv_exact(sock, 8))
    if size > MAX_FRAME:
        raise ProtocolError(f"frame of {size} bytes is too large")
    return _recv_exact(sock, size)


def _recv_exact(sock: socket.socket, size: int) -> bytearray:
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
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


def _encode(value, buffers, opaque, depth):
    if depth > MAX_DEPTH:
        raise ValueError("value nested too deeply")
    t = type(value)
    if value is None or t is bool or t is str:
        return {"t": "v", "v": value}
    if t is int:
        return {"t": "int", "v": str(value)}
    if t is float:
        return {"t": "float", "v": value.hex()}
    if t is complex:
        return {"t": "complex", "v": [value.real.hex(), value.imag.hex()]}
    if t is np.ndarray and value.dtype.kind in NUMERIC_KINDS:
        buffers.append(memoryview(np.ascontiguousarray(value).reshape(-1).view(np.uint8)))
        return {"t": "nd", "dtype": value.dtype.str, "shape": list(value.shape), "b": len(buffers) - 1}
    if isinstance(value, np.generic) and t.__module__ == "numpy" and value.dtype.kind in NUMERIC_KINDS:
        buffers.append(memoryview(value.tobytes()))
        return {"t": "np", "dtype": value.dtype.str, "b": len(buffers) - 1}
    if t is tuple or t is list:
        return {"t": t.__name__, "v": [_encode(v, buffers, opaque, depth + 1) for v in value]}
    if t is dict and all(type(k) in (str, int) for k in value):
        return {"t": "dict", "v": [[_encode(k, buffers, opaque, depth + 1),
                                     _encode(v, buffers, opaque, depth + 1)] for k, v in value.items()]}
    if opaque is None:
        raise TypeError(f"{t.__name__} is not plain data")
    o = opaque(value)
    return {"t": "opaque", "h": o.handle, "n": o.type_name, "g": o.generation}


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
    if depth > MAX_DEPTH or type(h) is not dict:
        raise ProtocolError("malformed value")
    t = h.get("t")
    if t == "v":
        v = h["v"]
        if v is None or type(v) in (bool, str):
            return v
        raise ProtocolError("malformed scalar")
    if t == "int":
        return int(_str(h["v"]))
    if t == "float":
        return float.fromhex(_str(h["v"]))
    if t == "complex":
        re, im = h["v"]
        return complex(float.fromhex(_str(re)), float.fromhex(_str(im)))
    if t in ("nd", "np"):
        dtype = np.dtype(_str(h["dtype"]))
        if dtype.kind not in NUMERIC_KINDS or dtype.hasobject or dtype.fields:
            raise ProtocolError(f"dtype {dtype} is not numeric")
        raw = buffers[h["b"]]
        if t == "np":
            if len(raw) != dtype.itemsize:
                raise ProtocolError("scalar size mismatch")
            return np.frombuffer(raw, dtype=dtype)[0]
        shape = tuple(int(s) for s in h["shape"])
        if any(s < 0 for s in shape) or int(np.prod(shape, dtype=np.int64)) * dtype.itemsize != len(raw):
            raise ProtocolError("array size does not match its shape")
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if t in ("tuple", "list"):
        items = [_decode(v, buffers, depth + 1) for v in h["v"]]
        return tuple(items) if t == "tuple" else items
    if t == "dict":
        out = {}
        for k, v in h["v"]:
            key = _decode(k, buffers, depth + 1)
            if type(key) not in (str, int):
                raise ProtocolError("dict key is not a string or integer")
            out[key] = _decode(v, buffers, depth + 1)
        return out
    if t == "opaque":
        return Opaque(int(h["h"]), _str(h["n"])[:100], int(h["g"]))
    raise ProtocolError(f"unknown value tag {t!r}")


def _str(v) -> str:
    if type(v) is not str:
        raise ProtocolError("expected a string")
    return v
