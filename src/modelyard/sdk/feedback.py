"""The fluent feedback API: ``my.log_feedback(request_id, label)`` once the ground truth is known.

The request id is the one a model server returned with the prediction (the ``x-request-id``
header); performance monitoring joins these labels to the inference log by it. Labels go through
the fluent API's client, so they land in the same store as everything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from modelyard.domain.inference import Feedback
from modelyard.sdk.fluent import client


def log_feedback(request_id: str, label: Any) -> Feedback:
    """Record the ground truth ``label`` (any JSON value) of the served request ``request_id``.

    Recording a label again for the same request id replaces it (a corrected label wins).
    """
    return client().log_feedback(request_id, label)


def log_feedback_batch(labels: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> list[Feedback]:
    """Record many ``request_id -> label`` pairs in one transaction: all of them or, on a bad one, none."""
    return client().log_feedback_batch(labels)
