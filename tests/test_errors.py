"""The exception tree: every class has its own exit code and HTTP status, and renders as JSON."""

from __future__ import annotations

import pytest

from modelyard import errors
from modelyard.errors import ModelyardError

SUBCLASSES = [
    errors.NotFound,
    errors.AlreadyExists,
    errors.InvalidInput,
    errors.Conflict,
    errors.PermissionDenied,
    errors.Unauthenticated,
    errors.BackendUnavailable,
    errors.UserCodeError,
]


def test_every_error_is_a_modelyard_error_with_a_distinct_exit_code() -> None:
    codes = [cls.exit_code for cls in SUBCLASSES]
    assert all(issubclass(cls, ModelyardError) for cls in SUBCLASSES)
    assert len(set(codes)) == len(codes)
    assert ModelyardError.exit_code not in codes
    assert all(code not in (0, 1) for code in codes)  # 0 is success, 1 an unexpected failure


@pytest.mark.parametrize(
    ("cls", "status"),
    [
        (errors.NotFound, 404),
        (errors.AlreadyExists, 409),
        (errors.InvalidInput, 400),
        (errors.Conflict, 409),
        (errors.PermissionDenied, 403),
        (errors.Unauthenticated, 401),
        (errors.BackendUnavailable, 503),
        (errors.UserCodeError, 500),
    ],
)
def test_http_status(cls: type[ModelyardError], status: int) -> None:
    assert cls.http_status == status


def test_to_dict_carries_the_class_message_and_details() -> None:
    exc = errors.Conflict("param 'lr' is already '0.1'", keys=["lr"])
    assert exc.to_dict() == {"error": "Conflict", "message": "param 'lr' is already '0.1'", "details": {"keys": ["lr"]}}
    assert errors.NotFound("gone").to_dict() == {"error": "NotFound", "message": "gone"}
    assert str(exc) == exc.message
