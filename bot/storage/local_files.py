"""Local data is for the owner only: SQLite files, the tracker, the shared tokens.

Other users of the machine must not read customers' messages or the tokens, so
every process clears the group and other bits from what it creates
(`keep_files_private`), SQLite files are created 0600 before SQLite opens them
(its -wal and -shm files copy the database file's mode), and the project's own
`var/` folder is made 0700, with what an older install left there tightened.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077


def keep_files_private() -> None:
    """For the start of each process: whatever it creates is the owner's alone."""
    os.umask(PRIVATE_UMASK)


def private_file(path: Path) -> None:
    """Creates the file 0600 if it is missing; an existing file keeps its mode."""
    if path.parent != Path() and not path.parent.exists():
        private_directory(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def private_directory(path: Path) -> None:
    """Creates the folder 0700; an existing one is left as it is (it may be /tmp)."""
    if path.exists():
        return
    path.mkdir(parents=True, mode=0o700)
    path.chmod(0o700)


def tighten(directory: Path) -> list[Path]:
    """The project's own data folder and the files in it: 0700 and 0600. Returns what
    changed, for the command to report."""
    changed: list[Path] = []
    if not directory.is_dir():
        return changed
    for path in (directory, *sorted(directory.iterdir())):
        wanted = 0o700 if path.is_dir() else 0o600
        if path.is_symlink() or stat.S_IMODE(path.stat().st_mode) == wanted:
            continue
        path.chmod(wanted)
        changed.append(path)
    return changed
