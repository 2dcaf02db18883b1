"""The content digest of a model directory: one hash that changes when any file does.

Construction (stable; other readers, such as the registry, may recompute it): walk every regular
file under the root except the excluded names, sort by the relative POSIX path, and feed one
SHA-256 with, per file, ``path`` UTF-8, a NUL byte, the size as 8 bytes big-endian, then the bytes.
The size prefix makes the stream unambiguous, so two different directories cannot produce the same
input by moving bytes between a path and a file. Files are read in chunks, so large models do not
need to fit in memory. Added, removed, renamed or edited files all change the result. Entries
given as ``extra`` bytes are hashed the same way, at their place in the sorted order.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

_CHUNK = 1 << 20


def directory_digest(root: Path, *, exclude: Iterable[str] = (), extra: Mapping[str, bytes] | None = None) -> str:
    """``sha256:<hex>`` over the files under ``root``; ``exclude`` holds relative POSIX paths.

    ``extra`` adds entries (relative path -> bytes) hashed as if they were files at those paths,
    in the same sorted order: the model format uses it to cover its manifest's content, which
    cannot hash a file holding its own digest.
    """
    skipped = set(exclude)
    added = dict(extra or {})
    digest = hashlib.sha256()
    for relative in sorted({*(p for p in _files(root) if p not in skipped), *added}):
        if relative in added:
            content = added[relative]
            digest.update(relative.encode("utf-8") + b"\0" + len(content).to_bytes(8, "big"))
            digest.update(content)
            continue
        file = root / relative
        digest.update(relative.encode("utf-8") + b"\0" + file.stat().st_size.to_bytes(8, "big"))
        with file.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def _files(root: Path) -> Iterable[str]:
    for folder, _dirs, names in os.walk(root):
        for name in names:
            yield (Path(folder) / name).relative_to(root).as_posix()
