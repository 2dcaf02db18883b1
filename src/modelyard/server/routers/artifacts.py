"""``/api/v1/runs/{run_id}/artifacts``: streamed upload and download (with byte ranges), listing.

An upload is streamed to a temporary file on the server's disk, never held in memory, then handed
to the artifact service, which writes it atomically (so a reader never sees half a file and a
broken upload leaves nothing). A download streams the stored file in chunks; ``Range: bytes=a-b``
answers 206 with that slice, so large files resume. Paths that climb out of the run (``..``,
absolute) are refused with 400 by the service.
"""

from __future__ import annotations

import mimetypes
import os
import posixpath
import re
import tempfile
from collections.abc import Iterator
from typing import Any, BinaryIO

from fastapi import APIRouter, Request, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from modelyard.domain.tracking import FileInfo
from modelyard.errors import InvalidInput
from modelyard.server.deps import BackendDep
from modelyard.server.errors import ERROR_RESPONSES
from modelyard.server.limits import RequestTooLarge
from modelyard.server.pagination import DEFAULT_PAGE, MaxResults, PageToken, page_of, paginate
from modelyard.server.schemas import schema_for
from modelyard.server.schemas.tracking import ArtifactPath
from modelyard.store.artifacts import normalize_artifact_path

router = APIRouter(prefix="/api/v1/runs/{run_id}/artifacts", tags=["artifacts"], responses=ERROR_RESPONSES)

CHUNK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(InvalidInput):
    http_status = 416


@router.get("", response_model=page_of(schema_for(FileInfo)))
def list_artifacts(
    run_id: str,
    backend: BackendDep,
    path: str | None = None,
    max_results: MaxResults = DEFAULT_PAGE,
    page_token: PageToken = None,
) -> Any:
    """The direct children of a folder among the run's artifacts (the root by default)."""
    return paginate(backend.artifacts.list(run_id, path), max_results, page_token)


@router.put("/{path:path}", response_model=ArtifactPath, status_code=status.HTTP_201_CREATED)
async def upload_artifact(run_id: str, path: str, request: Request, backend: BackendDep) -> dict[str, str]:
    """Store the raw request body as the file ``path`` (streamed; replaces a file of that name)."""
    rel = normalize_artifact_path(path)
    if not rel:
        raise InvalidInput("an artifact needs a file name")
    limit: int = request.app.state.limits.max_artifact_bytes
    folder, name = posixpath.split(rel)
    with tempfile.TemporaryDirectory(prefix="modelyard-upload-") as tmp:
        local = os.path.join(tmp, name)
        size = 0
        with open(local, "wb") as handle:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise RequestTooLarge(f"artifact is over the server's limit of {limit} bytes", limit=limit)
                handle.write(chunk)
        stored = await run_in_threadpool(backend.artifacts.log_file, run_id, local, folder or None)
    return {"path": stored}


@router.get(
    "/{path:path}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}, 206: {"content": {"application/octet-stream": {}}}},
)
def download_artifact(run_id: str, path: str, request: Request, backend: BackendDep) -> StreamingResponse:
    """The file's bytes, or the one range ``Range: bytes=start-end`` asks for (206)."""
    handle, size = backend.artifacts.open(run_id, path)
    try:
        start, end = _range(request.headers.get("range"), size)
    except BaseException:
        handle.close()
        raise
    media = mimetypes.guess_type(path)[0] or "application/octet-stream"
    headers = {"accept-ranges": "bytes", "content-length": str(end - start)}
    code = status.HTTP_200_OK
    if request.headers.get("range"):
        code = status.HTTP_206_PARTIAL_CONTENT
        headers["content-range"] = f"bytes {start}-{end - 1}/{size}"
    return StreamingResponse(_chunks(handle, start, end), status_code=code, media_type=media, headers=headers)


def _range(header: str | None, size: int) -> tuple[int, int]:
    """``[start, end)`` of the one range asked for; the whole file without a header."""
    if not header:
        return 0, size
    match = _RANGE.match(header.strip())
    if match is None or (not match.group(1) and not match.group(2)):
        raise RangeNotSatisfiable(f"unsupported Range {header!r}: give one range, bytes=start-end", size=size)
    first, last = match.group(1), match.group(2)
    if not first:  # the last N bytes
        start, end = max(0, size - int(last)), size
    else:
        start = int(first)
        end = size if not last else min(size, int(last) + 1)
    if start >= size or start >= end:
        raise RangeNotSatisfiable(f"range {header!r} is outside the file's {size} bytes", size=size)
    return start, end


def _chunks(handle: BinaryIO, start: int, end: int) -> Iterator[bytes]:
    try:
        handle.seek(start)
        left = end - start
        while left > 0:
            chunk = handle.read(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk
    finally:
        handle.close()
