"""Checkpoints: arrays in an ``.npz`` plus JSON metadata; never pickle; versioned; written atomically.

File layout (a zip, as ``np.savez`` writes it)::

    meta.json.npy      uint8 array holding UTF-8 JSON: {"format": "rnnviz-checkpoint", "version": N, ...}
    <name>.npy         one entry per array (parameters, optimizer state, carried state...)

Writing goes to a temporary file in the same folder (``<name>.rnnviz-<random>.tmp``), is flushed and
fsynced, then ``os.replace``-d over the target: a crash or an exception mid-save leaves the previous
checkpoint untouched, and the next save to the same place removes what a killed one left behind
(``engine.atomic``).

Reading checks every array's declared shape and type (its ``.npy`` header) against the size of its
zip entry before a byte of it is read: an entry whose header claims more than it holds, a member that
would inflate far beyond its compressed size (a zip bomb), object (pickle), text or structured arrays
are refused, so memory is spent only on what the file really holds. :func:`open_checkpoint` hands the
metadata and these declarations to the caller first, who can refuse what does not fit its model before
the arrays are read (``training.checkpointing`` does); :func:`load` reads everything.

Loading raises :class:`CheckpointError` with ``kind``:
    "missing"        no such file (or it is a folder)
    "not_checkpoint" the file is not an rnnviz checkpoint (not a zip, or a zip/npz without our metadata)
    "newer_version"  written by a newer rnnviz (format version above ours)
    "corrupted"      an rnnviz checkpoint that cannot be read whole: truncated, a bad CRC, broken JSON,
                     missing or malformed arrays or metadata (the message says "damaged checkpoint")
    "incompatible"   readable, but does not fit the model or data it is being loaded into (raised by
                     callers, see :func:`check_compatible`)
    "not_finite"     a model whose numbers are NaN or infinite (raised by ``training`` when loading,
                     and when asked to save one)
"""

from __future__ import annotations

import json
import math
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnviz.engine.atomic import write_atomically

FORMAT = "rnnviz-checkpoint"
VERSION = 1
_META = "meta.json"
_ZIP_MAGIC = b"PK\x03\x04"
_NPY = ".npy"  # np.savez names each entry <array name>.npy

# Sane caps, far above any file rnnviz writes (a 3-layer GRU has about 40 arrays; its metadata is a few
# kB, a 10,000-word vocabulary ~100 kB): they bound what a crafted file can make a reader spend.
MAX_ENTRIES = 1000
MAX_META_BYTES = 64 << 20
# np.savez stores its entries (no compression): an entry the size of its data. A compressed entry may
# inflate to at most MAX_INFLATION times its compressed size, plus a little for small, regular arrays
# (a fresh optimizer's zeros deflate ~1000:1): float weights deflate by less than 2:1, a zip bomb by
# 1000:1 or more.
MAX_INFLATION = 20
INFLATION_SLACK = 64 << 10
_NUMBER_KINDS = "biufc"  # bool, signed, unsigned, float, complex: numbers, nothing pickled or textual


class CheckpointError(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def damaged(name: str, detail: str) -> CheckpointError:
    """The "corrupted" error, in the one wording every reader of a checkpoint uses."""
    return CheckpointError("corrupted", f"{name} is a damaged checkpoint: {detail}.")


def save(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write ``arrays`` and ``meta`` (JSON-serialisable) to ``path`` atomically."""
    path = Path(path)
    if _META in arrays:
        raise ValueError(f"{_META!r} is reserved")
    meta = {"format": FORMAT, "version": VERSION, **meta}
    # allow_nan=False: NaN and Infinity are not JSON; a reader refuses them (see _read_meta)
    payload = {_META: np.frombuffer(json.dumps(meta, allow_nan=False).encode("utf-8"), np.uint8)}
    for name, a in arrays.items():
        a = np.asarray(a)
        if a.dtype == object:
            raise TypeError(f"array {name!r} has dtype object; checkpoints hold numbers only")
        payload[name] = a
    write_atomically(path, lambda f: np.savez(f, **payload))


@dataclass(frozen=True)
class Entry:
    """One array as its file declares it (its ``.npy`` header), before any of it is read."""

    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize  # (Python ints: no overflow for any shape)


class Checkpoint:
    """An open checkpoint: ``meta`` (checked as in the module doc) and ``entries``, every array's declared
    shape and dtype, read and checked; no array has been read yet. ``read(names)`` reads those arrays.
    Close it (or use ``with``); :func:`open_checkpoint` makes one."""

    def __init__(self, path: Path, f, zf: zipfile.ZipFile):
        self.name = path.name
        self._f, self._zip = f, zf
        if _META + _NPY not in zf.namelist():  # (any other zip or .npz: said before judging its entries)
            raise CheckpointError(
                "not_checkpoint",
                f"{self.name} is an .npz archive but not an rnnviz checkpoint (it has no rnnviz metadata).",
            )
        # the metadata first: a file of a newer rnnviz is said to be one, whatever else it holds
        self._infos = {_META: zf.getinfo(_META + _NPY)}
        meta_entry = _declared(zf, self._infos[_META], self.name)
        if meta_entry.dtype != np.uint8 or len(meta_entry.shape) != 1 or meta_entry.nbytes > MAX_META_BYTES:
            raise damaged(
                self.name, f"its metadata is not the text rnnviz writes ({meta_entry.dtype}, {meta_entry.shape})"
            )
        self.meta = _read_meta(self._read(_META), self.name)
        self._infos = _entries_of(zf, self.name)
        self.entries: dict[str, Entry] = {
            k: _declared(zf, info, self.name) for k, info in self._infos.items() if k != _META
        }

    def read(self, names) -> dict[str, np.ndarray]:
        """The arrays ``names`` (each of ``entries``)."""
        return {k: self._read(k) for k in names}

    def _read(self, key: str) -> np.ndarray:
        try:
            with self._zip.open(self._infos[key]) as fp:
                # exactly the declared bytes, all of the entry (so the zip's CRC is checked at its end)
                return np.lib.format.read_array(fp, allow_pickle=False)
        except _READ_ERRORS as e:
            raise damaged(self.name, f"{key} cannot be read whole ({type(e).__name__}: {e})") from e

    def close(self) -> None:
        self._zip.close()
        self._f.close()

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# What a damaged archive raises on the way (zipfile, zlib, NumPy's header parser, a short read)
_READ_ERRORS = (
    zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, KeyError, NotImplementedError, UnicodeDecodeError,
    MemoryError,  # an array larger than this machine can hold, whatever the checks above let through
)  # fmt: skip


def open_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Open a checkpoint and check its metadata and array declarations. Raises :class:`CheckpointError`."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise CheckpointError("missing", f"There is no checkpoint file at {path}.")
    try:
        f = open(path, "rb")
    except OSError as e:
        raise CheckpointError("missing", f"{name} cannot be read: {e.strerror}.") from e
    try:
        if f.read(4) != _ZIP_MAGIC:
            raise CheckpointError("not_checkpoint", f"{name} is not an rnnviz checkpoint (it is not an .npz archive).")
        f.seek(0)
        try:
            zf = zipfile.ZipFile(f)
        except _READ_ERRORS as e:
            raise damaged(name, f"it is incomplete or cannot be read whole ({type(e).__name__}: {e})") from e
        try:
            return Checkpoint(path, f, zf)
        except BaseException:
            zf.close()
            raise
    except BaseException:
        f.close()
        raise


def load(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Read a checkpoint: ``(arrays, meta)``. Raises :class:`CheckpointError` (see the module doc)."""
    with open_checkpoint(path) as ck:
        return ck.read(ck.entries), ck.meta


def _entries_of(zf: zipfile.ZipFile, name: str) -> dict[str, zipfile.ZipInfo]:
    """``{array name: zip entry}``; refuses what np.savez never writes, and more entries than MAX_ENTRIES."""
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        raise damaged(name, f"it holds {len(infos):,} entries (rnnviz reads at most {MAX_ENTRIES:,})")
    entries = {}
    for info in infos:
        key = info.filename[: -len(_NPY)]
        if not info.filename.endswith(_NPY) or not key or key in entries:
            raise damaged(name, f"its entry {info.filename!r} is not one array of its own")
        entries[key] = info
    return entries


def _declared(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> Entry:
    """The shape and dtype ``info``'s header declares, read without reading the array, checked to be a
    plain array of numbers exactly as large as the entry, and the entry to inflate no more than a file
    of ours can (a zip bomb is refused here, before it is inflated)."""
    key = info.filename[: -len(_NPY)]
    # the zip's own sizes are claims too: an entry cannot hold more compressed bytes than the file has
    # (a 623-byte file claiming a 3.6 GB stored array made NumPy allocate it before the read came short)
    archive = os.fstat(zf.fp.fileno()).st_size
    if info.header_offset + info.compress_size > archive:
        raise damaged(name, f"{key} claims {info.compress_size:,} bytes but the whole file holds {archive:,}")
    if info.file_size > MAX_INFLATION * info.compress_size + INFLATION_SLACK:
        raise damaged(
            name, f"{key} would inflate from {info.compress_size:,} to {info.file_size:,} bytes (a zip bomb?)"
        )
    try:
        with zf.open(info) as fp:
            version = np.lib.format.read_magic(fp)
            if version not in ((1, 0), (2, 0)):  # np.save writes 3.0 only for structured (text-named) types
                raise ValueError(f"the .npy format {version} is not one of plain arrays")
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read_header(fp)
            header = fp.tell()
    except _READ_ERRORS as e:
        raise damaged(name, f"{key} is not a readable array ({type(e).__name__}: {e})") from e
    if dtype.hasobject:
        raise damaged(name, f"{key} holds Python objects (that needs pickle, which rnnviz never runs)")
    if dtype.kind not in _NUMBER_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise damaged(name, f"{key} is not an array of numbers ({dtype})")
    entry = Entry(tuple(shape), dtype)
    if entry.nbytes != info.file_size - header:
        raise damaged(
            name, f"{key} declares {entry.shape} {dtype} ({entry.nbytes:,} bytes) but holds {info.file_size - header:,}"
        )
    return entry


def _read_meta(raw: np.ndarray, name: str) -> dict:
    try:  # (RecursionError: nested deeper than the parser's stack, as no file of ours is)
        meta = json.loads(raw.tobytes().decode("utf-8"), parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as e:
        raise damaged(name, f"its metadata is not the JSON rnnviz writes ({type(e).__name__}: {e})") from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError("not_checkpoint", f"{name} is an .npz archive but not an rnnviz checkpoint.")
    version = meta.get("version")
    if version is None:
        raise damaged(name, "its format version is missing")
    if type(version) is not int:  # (not isinstance: True is an int to Python)
        raise damaged(name, f"its format version is not a whole number ({version!r})")
    if version < 1:
        raise damaged(name, f"there is no format version {version} (the first is 1)")
    if version > VERSION:
        raise CheckpointError(
            "newer_version",
            f"{name} was saved by a newer rnnviz (checkpoint format {version}; this version reads up to "
            f"{VERSION}). Update rnnviz to open it.",
        )
    return meta


def _refuse_constant(word: str):
    """json.loads calls this for NaN, Infinity and -Infinity, which ``save`` never writes."""
    raise ValueError(f"{word} is not a number JSON can hold")


def check_compatible(arrays: dict[str, np.ndarray], expected: dict[str, tuple[int, ...]], what: str = "model") -> None:
    """Raise ``CheckpointError("incompatible")`` unless ``arrays`` has exactly the ``expected`` shapes."""
    missing = [k for k in expected if k not in arrays]
    wrong = [
        f"{k} is {arrays[k].shape}, expected {expected[k]}"
        for k in expected
        if k in arrays and arrays[k].shape != tuple(expected[k])
    ]
    if missing or wrong:
        detail = "; ".join(([f"missing {', '.join(missing)}"] if missing else []) + wrong)
        raise CheckpointError("incompatible", f"The checkpoint does not fit this {what}: {detail}.")
