"""The wire between the trusted grader and the worker.

Trusted -> worker: pickle (the trusted side only sends what it created itself), protocol 5
with large arrays out of band: their bytes go to the socket straight from the caller's
array and land in a buffer of their own in the worker, never copied into or out of a pickle.
Torch tensors go as `TensorValue`s (their numbers) and come back as numpy arrays (the
worker converts them, see worker._Handles.plain); a torch object crosses in no other form.
Worker -> trusted: a safe codec that accepts plain data only. A frame is a JSON header
describing the value plus raw byte buffers for arrays. Decoding never executes code and
only ever builds exact `numpy.ndarray`s of numeric dtype, numpy scalars, Python numbers,
strings, None, and tuples, lists and dicts of these. Anything else the worker holds
stays there and crosses as an `Opaque` handle.
"""

from __future__ import annotations

import json
import math
import pickle
import socket
import struct
import time
from dataclasses import dataclass

import numpy as np

NUMERIC_KINDS = "biufc"  # bool, signed, unsigned, float, complex
MAX_FRAME = 1 << 31      # 2 GiB: anything larger is a protocol violation
MAX_DEPTH = 32
MAX_NDIM = 32            # numpy's own limit (64 from numpy 2) is more than any exercise needs
MAX_HEADER = 1 << 20     # bytes of JSON describing one reply (its arrays travel beside it):
                         # a real exercise's largest is 2 KB; 1 MB parses to at most ~10 MB
# The dtypes an array or scalar may have, by the string the encoder writes (either byte
# order): looked up, never parsed, so a forged dtype costs nothing.
DTYPES = {d.str: d for t in "?bBhHiIlLqQefdgFDG" for o in "<>" for d in [np.dtype(t).newbyteorder(o)]}
READ_AHEAD = 1 << 16     # small reads are served from one read of up to this many bytes
OUT_OF_BAND = 1 << 14    # arrays of this many bytes or more travel beside the pickle (break-even)


class ProtocolError(Exception):
    """The worker sent something that is not a valid frame of plain data."""


class TooLarge(ProtocolError):
    """A frame, or its description, larger than the receiver accepts (refused before it
    was read)."""

    def __init__(self, what: str, size: int, limit: int):
        super().__init__(f"{what} of {size} bytes is larger than the limit of {limit} bytes")
        self.what, self.size, self.limit = what, size, limit


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
    slot: int = 0  # calls of one request that share a slot share one generator, which advances

    @classmethod
    def of(cls, generator: np.random.Generator, slot: int = 0) -> "GeneratorState":
        return cls(type(generator.bit_generator).__name__, generator.bit_generator.state, slot)


@dataclass(frozen=True)
class TensorValue:
    """A torch tensor on its way to the worker (trusted side -> worker only): its numbers, its
    torch dtype's name ("float64") and whether it records gradients. The worker makes a
    tensor of it; the trusted side needs no torch to send one."""

    array: np.ndarray
    dtype: str
    requires_grad: bool = False

    @classmethod
    def of(cls, tensor) -> "TensorValue":
        """From a real tensor of the trusted side (its own, never the worker's)."""
        plain = tensor.detach().cpu()
        dtype = str(plain.dtype).removeprefix("torch.")
        if dtype == "bfloat16":  # no numpy dtype: exact as float32, cast back in the worker
            plain = plain.float()
        return cls(plain.resolve_conj().resolve_neg().numpy().copy(), dtype, bool(tensor.requires_grad))


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


def _recv_exact(sock: socket.socket, view: memoryview, deadline: float | None) -> None:
    got = 0
    while got < len(view):
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no complete reply before the deadline")
            sock.settimeout(left)
        n = sock.recv_into(view[got:])
        if n == 0:
            raise EOFError("the other side closed the connection")
        got += n


class _Frame:
    """One incoming frame. One deadline (time.monotonic()) bounds the whole frame, so a
    sender cannot stretch a time limit by trickling bytes. Small reads are served from a
    read-ahead buffer (two system calls for a small frame); a large buffer is received
    straight into the memory that keeps it. Nothing past the frame's end is read."""

    def __init__(self, data, sock: socket.socket | None = None, left: int = 0,
                 deadline: float | None = None):
        self.ahead = memoryview(data)  # received, not yet consumed
        self.sock = sock
        self.left = left               # bytes of the frame still in the socket
        self.deadline = deadline

    @classmethod
    def open(cls, sock: socket.socket, deadline: float | None = None, max_size: int = MAX_FRAME) -> "_Frame":
        """The next frame on `sock`; `max_size` bounds the memory a sender can make us allocate."""
        head = bytearray(8)
        _recv_exact(sock, memoryview(head), deadline)
        (size,) = struct.unpack("!Q", head)
        if size > max_size:
            raise TooLarge("a reply", size, max_size)
        first = bytearray(min(size, READ_AHEAD))
        _recv_exact(sock, memoryview(first), deadline)
        return cls(first, sock, size - len(first), deadline)

    @property
    def remaining(self) -> int:
        return len(self.ahead) + self.left

    def read(self, n: int) -> memoryview:
        if n > len(self.ahead):
            if n > self.remaining:
                raise ProtocolError("a value runs past the end of its frame")
            buf = bytearray(max(n, min(self.remaining, READ_AHEAD)))
            have = len(self.ahead)
            buf[:have] = self.ahead
            self._fill(memoryview(buf)[have:])
            self.ahead = memoryview(buf)
        out, self.ahead = self.ahead[:n], self.ahead[n:]
        return out

    def read_into(self, target) -> None:
        """Fill `target` (a writable buffer) with the frame's next bytes."""
        target = memoryview(target).cast("B")
        if len(target) - len(self.ahead) < READ_AHEAD:
            target[:] = self.read(len(target))
            return
        if len(target) > self.remaining:
            raise ProtocolError("a value runs past the end of its frame")
        have = len(self.ahead)
        target[:have] = self.ahead
        self.ahead = memoryview(b"")
        self._fill(target[have:])

    def end(self) -> None:
        if self.remaining:
            raise ProtocolError("unexpected bytes after the end of a value")

    def _fill(self, view: memoryview) -> None:
        self.left -= len(view)
        _recv_exact(self.sock, view, self.deadline)


def send_request(sock: socket.socket, request: dict) -> None:
    """Trusted side -> worker (pickle is fine in this direction). Frame: the number and
    sizes of the out-of-band buffers, the pickle, then the buffers themselves."""
    buffers = []

    def in_band(buffer: pickle.PickleBuffer) -> bool:
        raw = buffer.raw()
        if raw.nbytes < OUT_OF_BAND or raw.readonly:
            return True  # a small array costs less inside the pickle; a read-only one stays so
        buffers.append(raw)
        return False

    data = pickle.dumps(request, protocol=5, buffer_callback=in_band)
    sizes = struct.pack(f"!I{len(buffers)}Q", len(buffers), *(b.nbytes for b in buffers))
    send_frame(sock, [sizes, data, *buffers])


def recv_request(sock: socket.socket) -> dict:
    """Arrays sent out of band are writable and each has its own (aligned) memory."""
    frame = _Frame.open(sock)
    (n,) = struct.unpack("!I", frame.read(4))
    sizes = struct.unpack(f"!{n}Q", frame.read(8 * n))
    data = frame.read(frame.remaining - sum(sizes))
    buffers = [bytearray(size) for size in sizes]
    for buffer in buffers:
        frame.read_into(buffer)
    return pickle.loads(data, buffers=buffers)


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
    # items that are scalars are written inline: most of a reply's values are (no call each)
    if t is tuple or t is list:
        out = ["t" if t is tuple else "l"]
        out += [v if type(v) in _SCALARS else _encode(v, buffers, opaque, depth + 1) for v in value]
        return out
    if t is dict and all(type(k) is str or type(k) is int for k in value):
        out = ["d"]
        for k, v in value.items():
            out += [k, v if type(v) in _SCALARS else _encode(v, buffers, opaque, depth + 1)]
        return out
    if t is np.ndarray and value.dtype.kind in NUMERIC_KINDS:
        buffers.append(memoryview(np.ascontiguousarray(value).reshape(-1).view(np.uint8)))
        return ["a", value.dtype.str, list(value.shape), len(buffers) - 1]
    if isinstance(value, np.generic) and t.__module__ == "numpy" and value.dtype.kind in NUMERIC_KINDS:
        buffers.append(memoryview(value.tobytes()))
        return ["s", value.dtype.str, len(buffers) - 1]
    if t is complex:
        return ["c", value.real, value.imag]
    if opaque is None:
        raise TypeError(f"{t.__name__} is not plain data")
    o = opaque(value)
    if type(o) is not Opaque:  # the worker made it plain (a tensor's numbers): encode that
        return _encode(o, buffers, opaque, depth + 1)
    return ["o", o.handle, o.type_name, o.generation]


def decode(data: bytes | bytearray):
    """Decode a frame already in memory. Raises ProtocolError on anything unexpected."""
    return _decode_frame(_Frame(data))


def recv_reply(sock: socket.socket, *, deadline: float | None = None, max_size: int = MAX_FRAME):
    """Receive and decode one frame from the worker, all of it before `deadline`. Each
    array's bytes are received straight into memory of its own, which the decoded array
    then uses: one copy from the kernel, none after."""
    return recv_reply_sized(sock, deadline=deadline, max_size=max_size)[0]


def recv_reply_sized(sock: socket.socket, *, deadline: float | None = None,
                     max_size: int = MAX_FRAME) -> tuple[object, int]:
    """`recv_reply`, and the frame's size in bytes. Every size is checked before anything
    is allocated or parsed: the frame against `max_size` (TooLarge), its description against
    MAX_HEADER (TooLarge), each buffer against what is left of the frame."""
    try:
        frame = _Frame.open(sock, deadline, max_size)
        size = frame.remaining
        return _decode_frame(frame), size
    finally:
        if deadline is not None:
            sock.settimeout(None)  # the next request is sent blocking, not with what was left


def _decode_frame(frame: _Frame):
    try:
        n_head, n_buf = struct.unpack("!II", frame.read(8))
        if n_buf > n_head:  # every buffer needs a value in the header that uses it
            raise ProtocolError("more buffers than values")
        if n_head > MAX_HEADER:  # json.loads can need many times its input's size
            raise TooLarge("a reply's description (its lists, dicts, numbers and strings)", n_head, MAX_HEADER)
        header = json.loads(bytes(frame.read(n_head)))
        buffers = []
        for _ in range(n_buf):
            (size,) = struct.unpack("!Q", frame.read(8))
            if size > frame.remaining:
                raise ProtocolError("truncated buffer")
            buffer = np.empty(size, dtype=np.uint8)
            frame.read_into(buffer)
            buffers.append(buffer)
        frame.end()
        return _decode(header, buffers, set(), 0)
    except (ProtocolError, EOFError, OSError):  # OSError: the socket's, timeouts included
        raise
    except Exception as exc:  # malformed JSON, bad struct, wrong types: all the worker's fault
        raise ProtocolError(f"malformed reply: {type(exc).__name__}: {str(exc)[:200]}") from None


def _decode(h, buffers, used, depth):
    t = type(h)
    if t in _SCALARS:
        return h
    if t is not list or not h or depth > MAX_DEPTH:
        raise ProtocolError("malformed value")
    tag = h[0]
    if tag == "t" or tag == "l":
        items = [v if type(v) in _SCALARS else _decode(v, buffers, used, depth + 1) for v in h[1:]]
        return tuple(items) if tag == "t" else items
    if tag == "a" or tag == "s":
        dtype = DTYPES.get(h[1]) if len(h) > 2 and type(h[1]) is str else None
        if dtype is None:
            raise ProtocolError(f"dtype {str(h[1] if len(h) > 2 else '')[:20]!r} is not a numeric dtype")
        index = _int(h[-1])
        if not 0 <= index < len(buffers):
            raise ProtocolError("no such buffer")
        if index in used:  # the encoder never does this; copies of one buffer would multiply memory
            raise ProtocolError("a buffer is used twice")
        raw = buffers[index]
        if tag == "s":
            if len(h) != 3 or len(raw) != dtype.itemsize:
                raise ProtocolError("scalar size mismatch")
            used.add(index)
            return raw.view(dtype)[0]
        if len(h) != 4 or type(h[2]) is not list or len(h[2]) > MAX_NDIM:
            raise ProtocolError(f"an array's shape must be a list of at most {MAX_NDIM} sizes")
        shape = tuple(_int(n) for n in h[2])
        if any(n < 0 for n in shape) or math.prod(shape) * dtype.itemsize != len(raw):
            raise ProtocolError("array size does not match its shape")
        used.add(index)
        return raw.view(dtype).reshape(shape)
    if tag == "d":
        if len(h) % 2 != 1:
            raise ProtocolError("malformed dict")
        out = {}
        for k, v in zip(h[1::2], h[2::2]):
            if type(k) not in (str, int):
                raise ProtocolError("dict key is not a string or integer")
            out[k] = v if type(v) in _SCALARS else _decode(v, buffers, used, depth + 1)
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
