"""Report files replaced whole: a reader (a person, a mail client, a sync folder) never sees
half a report, and a write that fails leaves the last one where it was."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable


def replace_atomically(path: str | os.PathLike[str], write: Callable[[Path], None]) -> None:
    """Call ``write`` with a temporary path beside ``path`` (its folders made), then put the file
    it wrote in ``path``'s place in one step; on any failure the temporary file is removed and
    ``path`` is left untouched."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
