"""Artifact stores that misbehave on purpose, for tests of the inference log's writer."""

from __future__ import annotations

import threading

from modelyard.store.artifacts import ArtifactStore


class GatedStore(ArtifactStore):
    """An artifact store whose writes wait for ``gate``: a writer stuck on a slow bucket."""

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.entered = threading.Event()
        self.gate = threading.Event()

    def put_bytes(self, base_uri: str, rel_path: str, data: bytes) -> None:
        self.entered.set()
        self.gate.wait(60)
        super().put_bytes(base_uri, rel_path, data)
