"""``/api/v1/health`` (public): the server answers and its store is reachable."""

from __future__ import annotations

from importlib.metadata import version

from fastapi import APIRouter
from sqlalchemy import text

from modelyard.server.deps import BackendDep
from modelyard.server.errors import ERROR_RESPONSES
from modelyard.server.schemas import Schema

router = APIRouter(prefix="/api/v1", tags=["health"], responses=ERROR_RESPONSES)


class Health(Schema):
    status: str
    version: str


@router.get("/health", response_model=Health)
def health(backend: BackendDep) -> Health:
    with backend.db.read() as conn:
        conn.execute(text("SELECT 1"))
    return Health(status="ok", version=version("modelyard"))
