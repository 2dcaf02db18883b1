"""The one exception tree of modelyard.

Every error a user can meet is a ``ModelyardError``; subclasses are chosen by what the caller
does about it, not by where it happened. Each class carries the HTTP status the server answers
with and the exit code the CLI ends with, so the two edges (``server/errors.py`` and
``cli/app.py``) translate without a lookup table of their own::

    ModelyardError                    500 / exit 1
    ├── NotFound                      404 / exit 4   the thing named does not exist
    ├── AlreadyExists                 409 / exit 5   a unique name is taken
    ├── InvalidInput                  400 / exit 2   the request itself is wrong; fix it and retry
    ├── Conflict                      409 / exit 6   valid, but the current state forbids it
    │   └── ApprovalPending           202 / exit 3   not a failure: recorded as an approval request
    ├── PermissionDenied              403 / exit 7   authenticated, not allowed
    ├── Unauthenticated               401 / exit 8   who is asking is unknown
    ├── BackendUnavailable            503 / exit 9   store or service unreachable or not ready
    └── UserCodeError                 500 / exit 10  the user's own code (a model, a step) raised
"""

from __future__ import annotations

from typing import Any, ClassVar


class ModelyardError(Exception):
    """Root of every modelyard error; ``message`` is one readable sentence."""

    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The JSON body an interface returns for this error."""
        body: dict[str, Any] = {"error": type(self).__name__, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class NotFound(ModelyardError):
    """The experiment, run, model or file named does not exist."""

    http_status = 404
    exit_code = 4


class AlreadyExists(ModelyardError):
    """A name that must be unique is already taken."""

    http_status = 409
    exit_code = 5


class InvalidInput(ModelyardError):
    """The request is malformed or breaks a rule of the value itself (a bad filter, a bad key)."""

    http_status = 400
    exit_code = 2


class Conflict(ModelyardError):
    """The request is well formed but the current state forbids it (a param already logged)."""

    http_status = 409
    exit_code = 6


class ApprovalPending(Conflict):
    """Not a failure: the change is protected, so it was recorded as approval request
    ``details["approval_request"]`` and happens once approvers approve it.

    A ``Conflict`` (the change has not happened yet, and code that handles a refused change keeps
    working), but interfaces show it as a normal result: the server answers 202 Accepted, the CLI
    prints what happens next on stdout and exits 3.
    """

    http_status = 202
    exit_code = 3


class PermissionDenied(ModelyardError):
    """The actor is known but lacks the permission the operation needs."""

    http_status = 403
    exit_code = 7


class Unauthenticated(ModelyardError):
    """No valid identity came with the request."""

    http_status = 401
    exit_code = 8


class BackendUnavailable(ModelyardError):
    """The metadata store or artifact store cannot be reached, or is not at the expected schema."""

    http_status = 503
    exit_code = 9


class UserCodeError(ModelyardError):
    """User code (a model's predict, a pipeline step) raised; the original is ``__cause__``."""

    http_status = 500
    exit_code = 10
