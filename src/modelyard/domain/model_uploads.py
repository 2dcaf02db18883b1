"""A model whose files a client uploads itself: reserved, then finished (or failed).

The reservation names the folder among the run's artifacts the files go to (so the model is at
``runs:/<run>/<artifact_path>`` like any other) and the id the finished logged model will carry.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class UploadStatus(enum.StrEnum):
    PENDING = "PENDING"
    FAILED = "FAILED"


@dataclass(frozen=True, kw_only=True)
class ModelUpload:
    """A reserved model id and folder whose files are being uploaded."""

    model_id: str
    run_id: str
    experiment_id: str
    artifact_path: str
    storage_uri: str
    status: UploadStatus
    created_time: int
