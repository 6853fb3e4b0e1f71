#!/usr/bin/python3
"""Reads and writes safetensors files with json, struct and numpy alone.

PyTorch 1.13 (Debian 12) has no safetensors support: read() gives numpy arrays that
torch.from_numpy() takes as they are. As a script, `safetensors_roundtrip.py IN OUT` reads
IN, multiplies every float tensor by 2 and writes OUT (checkpoint_test.cc runs it).
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F16": "<f2", "F32": "<f4", "F64": "<f8", "I8": "i1", "U8": "u1",
          "I16": "<i2", "I32": "<i4", "I64": "<i8", "BOOL": "?"}
TAGS = {np.dtype(v): k for k, v in DTYPES.items()}


def read(path, with_metadata=False):
    """Returns {name: numpy array} (and the __metadata__ dict if asked) from `path`."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    if n > len(buf) - 8:
        raise ValueError(f"{path}: header length {n} exceeds file size {len(buf)}")
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    data = memoryview(buf)[8 + n:]
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        dtype = np.dtype(DTYPES[e["dtype"]])
        shape = tuple(e["shape"])
        count = int(np.prod(shape, dtype=np.int64))
        if not 0 <= begin <= end <= len(data) or end - begin != count * dtype.itemsize:
            raise ValueError(f"{path}: bad data_offsets for {name!r}")
        tensors[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(shape).copy()
    return (tensors, metadata) if with_metadata else tensors


def write(path, tensors, metadata=None):
    """Writes {name: array-like} to `path`, packed in dict order, header padded to 8 bytes."""
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, value in tensors.items():
        a = np.asarray(value)  # a CPU torch tensor converts too
        a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
        raw = a.tobytes()
        header[name] = {"dtype": TAGS[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in chunks:
            f.write(raw)


def main(argv):
    if len(argv) != 3:
        sys.exit(f"usage: {argv[0]} IN OUT")
    tensors, metadata = read(argv[1], with_metadata=True)
    doubled = {k: (v * 2 if np.issubdtype(v.dtype, np.floating) else v)
               for k, v in tensors.items()}
    write(argv[2], doubled, metadata)


if __name__ == "__main__":
    main(sys.argv)
