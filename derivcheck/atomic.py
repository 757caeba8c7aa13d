"""Outputs are written atomically: a temporary file in the same folder, then a rename."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

# what ``write_bytes`` names its temporary file: ``.<name>.<mkstemp's 8 characters>``
_PARTIAL = re.compile(r"\..+\.[a-z0-9_]{8}\Z")


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half."""
    write_bytes(path, text.encode("utf-8"))


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see ``write_text``)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _mode_for(target))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mode_for(target: Path) -> int:
    """The existing file's permissions, else those a new file gets (mkstemp's are 0600)."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def remove_partial(folder: str | Path, suffixes: tuple[str, ...]) -> None:
    """Remove the temporary files a writer killed mid-write left in ``folder`` (those of
    targets ending with one of ``suffixes``): call it when nothing writes there."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if _PARTIAL.match(name) and name[1:-9].endswith(suffixes) and entry.is_file(
                follow_symlinks=False):
            Path(entry.path).unlink(missing_ok=True)
