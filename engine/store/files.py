"""Private files: the book, the FIX store and the FIX logs are 0600 in 0700 directories.

They hold client positions, orders and session state; nobody else on the machine reads them.
Directories we create are 0700; a directory that exists already is tightened only when it is
ours and not a shared one (sticky, like /tmp). Files are tightened whenever they are opened.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path, *, tighten: bool = True) -> Path:
    """Create `path` (and missing parents) 0700; with `tighten`, make it 0700 when it is ours
    already (a directory of the workstation's own, never a user's folder that holds a book)."""
    path = path.expanduser()
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            d.mkdir(mode=DIR_MODE)
        os.chmod(d, DIR_MODE)  # mkdir's mode is filtered by the umask
    if not missing and tighten:
        _tighten(path, DIR_MODE, is_dir=True)
    return path


def private_file(path: Path) -> None:
    """Make an existing file of ours 0600 (nothing if it does not exist)."""
    _tighten(path, FILE_MODE, is_dir=False)


def create_private_file(path: Path) -> None:
    """Create an empty file 0600 unless it exists; then make sure it is 0600."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
    private_file(path)


def private_files_in(directory: Path) -> None:
    """Tighten every file of ours directly in a private directory (not in a shared one)."""
    try:
        st = directory.stat()
    except FileNotFoundError:
        return
    if st.st_mode & stat.S_ISVTX or st.st_uid != os.getuid():
        return
    for f in directory.iterdir():
        if f.is_file() and not f.is_symlink():
            private_file(f)


def _tighten(path: Path, mode: int, *, is_dir: bool) -> None:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if st.st_uid != os.getuid() or stat.S_ISLNK(st.st_mode):
        return
    if is_dir and st.st_mode & stat.S_ISVTX:  # a shared directory such as /tmp: leave it
        return
    if stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Files and directories created inside are 0600/0700 (the umask is process-wide: keep it short)."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)
