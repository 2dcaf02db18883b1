"""Turning in-memory objects (text, dicts, figures) into the bytes of an artifact file."""

from __future__ import annotations

import io
import json
import posixpath
from typing import Any

import yaml

from modelyard.errors import InvalidInput


def dict_bytes(dictionary: Any, artifact_file: str) -> bytes:
    """JSON, or YAML when the file name ends in .yaml/.yml."""
    ext = posixpath.splitext(artifact_file)[1].lower()
    try:
        if ext in (".yaml", ".yml"):
            text: str = yaml.safe_dump(dictionary, sort_keys=False)  # the stubs say Any; no stream -> str
            return text.encode()
        return json.dumps(dictionary, indent=2, default=_json_default).encode()
    except (TypeError, ValueError, yaml.YAMLError) as exc:
        raise InvalidInput(f"cannot serialise the dict for {artifact_file!r}: {exc}") from exc


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def figure_bytes(figure: Any, artifact_file: str) -> bytes:
    """A matplotlib figure in the format of the file's extension, or a plotly figure as HTML."""
    ext = posixpath.splitext(artifact_file)[1].lower().lstrip(".")
    if not ext:
        raise InvalidInput(f"figure file {artifact_file!r} needs an extension (.png, .svg, .pdf, .html)")
    if hasattr(figure, "savefig"):
        if ext == "html":
            raise InvalidInput("a matplotlib figure cannot be saved as .html; use .png, .svg or .pdf")
        buffer = io.BytesIO()
        figure.savefig(buffer, format=ext)
        return buffer.getvalue()
    if hasattr(figure, "to_html"):
        if ext != "html":
            raise InvalidInput("a plotly figure is logged as a self-contained .html file")
        return str(figure.to_html(full_html=True, include_plotlyjs=True)).encode()
    raise InvalidInput(f"log_figure takes a matplotlib or plotly figure, got {type(figure).__name__}")
