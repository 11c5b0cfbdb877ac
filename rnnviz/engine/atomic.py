"""Writing a file atomically, and cleaning up after writes that were killed.

    write_atomically("run.npz", lambda f: np.savez(f, **arrays))

The data goes to a temporary file in the same folder, named ``<name>.rnnviz-<random>.tmp`` so that it
is recognisably ours and for that file; it is flushed and fsynced, then ``os.replace``-d over the
target: a crash or an exception mid-write leaves the previous file untouched. A write that is killed
(kill -9, a power cut, the app ending its training process) cannot remove its temporary file, so every
write first removes the stale ones of its own target: named exactly so, regular files (never a link,
never followed), older than STALE_AGE seconds and not locked by a write still under way (each write
holds an exclusive lock on its temporary file where the platform has ``flock``; on Windows a file that
is open cannot be removed at all). Nothing else in the folder is ever touched.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: an open file cannot be removed, which protects a write under way instead
    fcntl = None

TEMP_TAG = ".rnnviz-"  # run.npz.rnnviz-k2j4h6g8.tmp
TEMP_SUFFIX = ".tmp"
# A temporary file younger than this may belong to a write that has created it but not yet locked it
# (microseconds on a local disk): it is left for the next write. Writing refreshes its time.
STALE_AGE = 10.0  # seconds


def write_atomically(path: str | os.PathLike, write: Callable) -> None:
    """Call ``write(f)`` with a binary file whose content becomes ``path``, atomically (see module doc)."""
    path = Path(path)
    folder = path.parent or Path(".")
    remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=path.name + TEMP_TAG, suffix=TEMP_SUFFIX, dir=folder)
    try:
        if fcntl is not None:  # held until the file is closed: a cleaner never takes a write under way
            fcntl.flock(fd, fcntl.LOCK_EX)
        if hasattr(os, "fchmod"):  # mkstemp makes the file private (0600); give it a normal file's mode
            try:
                os.fchmod(fd, _file_mode(path))
            except OSError:  # a file system without permissions (a FAT stick, some shares): saving still works
                pass
        with os.fdopen(fd, "wb") as f:
            write(f)
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
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def remove_stale_temps(path: Path) -> None:
    """Remove the temporary files killed writes to ``path`` left behind (only those: see module doc)."""
    ours = re.compile(re.escape(path.name + TEMP_TAG) + r"[A-Za-z0-9_]+" + re.escape(TEMP_SUFFIX))
    folder = path.parent or Path(".")
    try:
        names = [n for n in os.listdir(folder) if ours.fullmatch(n)]
    except OSError:  # a folder we cannot list: the write itself will say what is wrong
        return
    now = time.time()
    for name in names:
        candidate = folder / name
        try:
            st = os.lstat(candidate)
            if stat.S_ISREG(st.st_mode) and now - st.st_mtime >= STALE_AGE:
                _remove_unless_locked(candidate)
        except OSError:  # gone meanwhile, or not ours to remove: never a reason to refuse the write
            pass


def _remove_unless_locked(path: Path) -> None:
    if fcntl is None:
        os.unlink(path)  # (Windows refuses while a write holds it open)
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError (an OSError) while a write holds it
        os.unlink(path)
    finally:
        os.close(fd)


def _file_mode(path: Path) -> int:
    """The permissions the saved file gets: those of the file it replaces, else what ``open`` would give
    (0666 less the umask). The umask can only be read by setting it, so it is set straight back."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask
