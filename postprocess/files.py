"""Atomic output: write to a temporary file beside the target, then rename, so nothing is half-written."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path with the target's suffix; rename it onto `path` on success, delete it on failure."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # A fresh name, not a created file: the writer creates it with the usual permissions (mkstemp's are 0600).
    temporary = target.parent / f".{target.stem}.{secrets.token_hex(6)}{target.suffix}"
    try:
        yield Path(temporary)
        os.replace(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
