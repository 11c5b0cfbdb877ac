"""Checkpoints: arrays in an ``.npz`` plus JSON metadata; never pickle; versioned; written atomically.

File layout (a zip, as ``np.savez`` writes it)::

    meta.json.npy      uint8 array holding UTF-8 JSON: {"format": "rnnviz-checkpoint", "version": N, ...}
    <name>.npy         one entry per array (parameters, optimizer state, carried state...)

Writing goes to a temporary file in the same folder, is flushed and fsynced, then ``os.replace``-d
over the target: a crash or an exception mid-save leaves the previous checkpoint untouched.

Loading raises :class:`CheckpointError` with ``kind``:
    "missing"        no such file (or it is a folder)
    "not_checkpoint" the file is not an rnnviz checkpoint (not a zip, or a zip/npz without our metadata)
    "newer_version"  written by a newer rnnviz (format version above ours)
    "corrupted"      an rnnviz checkpoint that cannot be read whole: truncated, a bad CRC, broken JSON,
                     missing or malformed arrays or metadata (the message says "damaged checkpoint")
    "incompatible"   readable, but does not fit the model it is being loaded into (raised by callers
                     that compare shapes, see :func:`check_compatible`)
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

FORMAT = "rnnviz-checkpoint"
VERSION = 1
_META = "meta.json"
_ZIP_MAGIC = b"PK\x03\x04"


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
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent or ".")
    try:
        if hasattr(os, "fchmod"):  # mkstemp makes the file private (0600); give it a normal file's mode
            try:
                os.fchmod(fd, _file_mode(path))
            except OSError:  # a file system without permissions (a FAT stick, some shares): saving still works
                pass
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable; not possible on every platform
        dir_fd = os.open(path.parent or ".", os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def _file_mode(path: Path) -> int:
    """The permissions the saved file gets: those of the file it replaces, else what ``open`` would give
    (0666 less the umask). The umask can only be read by setting it, so it is set straight back."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def load(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Read a checkpoint: ``(arrays, meta)``. Raises :class:`CheckpointError` (see the module doc)."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise CheckpointError("missing", f"There is no checkpoint file at {path}.")
    try:
        f = open(path, "rb")
    except OSError as e:
        raise CheckpointError("missing", f"{name} cannot be read: {e.strerror}.") from e
    # np.load is given our own file object so it is closed even when the archive is broken.
    with f:
        if f.read(4) != _ZIP_MAGIC:
            raise CheckpointError("not_checkpoint", f"{name} is not an rnnviz checkpoint (it is not an .npz archive).")
        f.seek(0)
        try:
            with np.load(f, allow_pickle=False) as npz:
                meta = _read_meta(npz, name)
                arrays = {k: npz[k] for k in npz.files if k != _META}
        except CheckpointError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, KeyError, UnicodeDecodeError) as e:
            raise damaged(name, f"it is incomplete or cannot be read whole ({type(e).__name__}: {e})") from e
    return arrays, meta


def _read_meta(npz, name: str) -> dict:
    if _META not in npz.files:
        raise CheckpointError(
            "not_checkpoint", f"{name} is an .npz archive but not an rnnviz checkpoint (it has no rnnviz metadata)."
        )
    try:  # (RecursionError: nested deeper than the parser's stack, as no file of ours is)
        meta = json.loads(npz[_META].tobytes().decode("utf-8"), parse_constant=_refuse_constant)
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
