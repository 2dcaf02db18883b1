"""Pages of a list that can grow: ``max_results`` items and a ``next_page_token`` (or null).

Lists that the services return whole are cut here, by offset; the token is the offset as a
decimal string (opaque to clients). Run search pages with the service's own keyset token.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Query
from pydantic import BaseModel, create_model

from modelyard.errors import InvalidInput
from modelyard.server.schemas._derive import Schema

T = TypeVar("T")
MAX_PAGE = 10_000
DEFAULT_PAGE = 1_000

MaxResults = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Items per page")]
PageToken = Annotated[str | None, Query(max_length=64, description="next_page_token of the previous page")]

_pages: dict[Any, type[BaseModel]] = {}


def page_of(item: Any) -> type[BaseModel]:
    """The response model ``{items: [item], next_page_token}``, named ``<Item>Page``."""
    found = _pages.get(item)
    if found is None:
        name = getattr(item, "__name__", "Item").removesuffix("Out")
        found = _pages[item] = create_model(
            f"{name}Page",
            __base__=Schema,
            __module__=__name__,
            items=(list[item], ...),
            next_page_token=(str | None, None),
        )
    return found


def offset_of(token: str | None) -> int:
    if token is None or token == "":
        return 0
    if not token.isdigit() or len(token) > 12:
        raise InvalidInput(f"invalid page_token {token!r}")
    return int(token)


def paginate(items: Sequence[T], max_results: int, page_token: str | None) -> dict[str, Any]:
    """One page of an in-memory list."""
    start = offset_of(page_token)
    end = start + max_results
    return {"items": list(items[start:end]), "next_page_token": str(end) if end < len(items) else None}


def paginate_query(
    fetch: Callable[[int, int], Sequence[T]], max_results: int, page_token: str | None
) -> dict[str, Any]:
    """One page of a service call taking ``(limit, offset)``: asks one more to know if there is a next."""
    start = offset_of(page_token)
    found = list(fetch(max_results + 1, start))
    more = len(found) > max_results
    return {"items": found[:max_results], "next_page_token": str(start + max_results) if more else None}
