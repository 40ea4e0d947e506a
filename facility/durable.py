"""Small helpers for writes that must survive a crash or power loss.

On the ground floor because several packages write files that must never be read half-written:
ingest's spool, the analytics engine snapshot and the broker's password file and ACL.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write a file so that after a crash it is either absent or complete.

    Data goes to a temporary name, is fsynced, renamed into place, and the directory is
    fsynced so the rename itself is on disk before we acknowledge anything. With ``mode``
    (0o600 for secrets) the file has that mode from its first byte, whatever the umask.
    """
    tmp = path.with_name(path.name + ".tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    descriptor = os.open(tmp, flags, 0o666 if mode is None else mode)
    try:
        if mode is not None:
            os.fchmod(descriptor, mode)  # a leftover temporary file may have another mode
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    """Make renames and deletions in a directory durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
