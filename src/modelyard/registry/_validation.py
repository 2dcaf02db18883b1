"""Checks on the names users choose: model names, aliases, tag keys and values.

Model names and aliases must be writable in a ``models:/`` URI, so they follow the URI grammar
(``modelyard.uris``); an alias may not be all digits, or ``models:/m@3`` would read as a version.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelyard.errors import InvalidInput
from modelyard.names import URI_NAME, check_name

MAX_NAME_LENGTH = 256
MAX_TAG_KEY_LENGTH = 250
MAX_TAG_VALUE_LENGTH = 5000


def model_name(name: Any) -> str:
    """A registered model name usable in ``models:/<name>/<version>``."""
    return check_name(
        "model name",
        name,
        max_length=MAX_NAME_LENGTH,
        pattern=URI_NAME,
        allowed="use letters, digits, '_', '.', '-', starting with a letter or digit",
    )


def alias_name(alias: Any) -> str:
    """An alias usable in ``models:/<name>@<alias>``; all-digit aliases would read as versions."""
    name = check_name(
        "alias",
        alias,
        max_length=MAX_NAME_LENGTH,
        pattern=URI_NAME,
        allowed=f"use up to {MAX_NAME_LENGTH} letters, digits, '_', '.', '-', starting with a letter or digit",
    )
    if name.isdigit():
        raise InvalidInput(f"alias {name!r} is all digits and would be read as a version number")
    return name


def version_number(version: Any) -> int:
    """A version number from an int or a string of digits (as the CLI passes it)."""
    text = str(version).strip()
    if isinstance(version, bool) or not text.isdigit() or int(text) < 1:
        raise InvalidInput(f"{version!r} is not a model version; versions are whole numbers from 1")
    return int(text)


def tags(values: Mapping[str, Any] | None) -> dict[str, str]:
    """Tag keys are non-empty and short; values are stored as strings."""
    out: dict[str, str] = {}
    for key, value in (values or {}).items():
        check_name("tag key", key, max_length=MAX_TAG_KEY_LENGTH)
        text = "" if value is None else str(value)
        if len(text) > MAX_TAG_VALUE_LENGTH:
            raise InvalidInput(f"the value of tag {key!r} is longer than {MAX_TAG_VALUE_LENGTH} characters")
        out[key] = text
    return out


def description(text: Any) -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        raise InvalidInput(f"a description must be text, got {type(text).__name__}")
    return text


RESERVED_TAG_PREFIX = "modelyard."


def user_tags(values: Mapping[str, Any] | None) -> dict[str, str]:
    """``tags`` that a person or script may write: ``modelyard.*`` keys are refused.

    Those keys carry what modelyard's own services recorded (the validation gate's verdict, which
    an approval policy may require): a requester must not be able to bless their own version.
    """
    out = tags(values)
    for key in out:
        reserved_key(key)
    return out


def reserved_key(key: str) -> str:
    """Refuse a tag key under the reserved ``modelyard.`` prefix (set, or delete)."""
    if isinstance(key, str) and key.strip().lower().startswith(RESERVED_TAG_PREFIX):
        raise InvalidInput(
            f"tag {key!r} is reserved: '{RESERVED_TAG_PREFIX}*' tags are written only by modelyard's own services "
            "(the gate verdict by a pipeline's gate step); choose another key"
        )
    return key
