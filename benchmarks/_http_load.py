"""The serving benchmark's load generator when ``wrk`` is absent: keep-alive POSTs from worker processes.

On 2 cores an ``httpx`` client in the benchmark's own process spent ~4 ms of CPU per request,
so it, not the server, set the ceiling (about 100-600 req/s) and hid what a second server worker
adds. This one writes a prepared HTTP/1.1 request on raw asyncio streams (uvloop when installed)
and reads the answer by its ``content-length``: tens of microseconds per request. ``run`` starts
``processes`` copies, each holding ``connections / processes`` connections, and merges their
latencies.

Usage of one copy: ``python benchmarks/_http_load.py URL BODY_FILE SECONDS CONNECTIONS``; it prints
``{"latencies_ms": [...], "failed": n, "elapsed_s": s}`` as JSON.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit


async def _one_connection(host: str, port: int, request: bytes, end: float, out: list[float]) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    failed = 0
    try:
        while time.perf_counter() < end:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
            if "content-length" in headers:
                await reader.readexactly(int(headers["content-length"]))
            else:  # chunked
                while True:
                    size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                    await reader.readexactly(size + 2)
                    if size == 0:
                        break
            out.append((time.perf_counter() - start) * 1000)
            failed += status != 200
    finally:
        writer.close()
    return failed


async def _load(url: str, body: bytes, seconds: float, connections: int) -> dict[str, object]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    started = time.perf_counter()
    end = started + seconds
    failures = await asyncio.gather(*(_one_connection(host, port, request, end, latencies) for _ in range(connections)))
    return {"latencies_ms": latencies, "failed": sum(failures), "elapsed_s": time.perf_counter() - started}


def run(url: str, body: bytes, seconds: float, *, connections: int, processes: int = 2) -> dict[str, float]:
    """Load ``url`` for ``seconds`` from ``processes`` processes; req/s, p50/p99 ms, counts."""
    with tempfile.NamedTemporaryFile(suffix=".json") as file:
        file.write(body)
        file.flush()
        shares = [connections // processes + (i < connections % processes) for i in range(processes)]
        children = [
            subprocess.Popen(
                [sys.executable, __file__, url, file.name, str(seconds), str(share)],
                stdout=subprocess.PIPE,
                text=True,
            )
            for share in shares
            if share
        ]
        results = [json.loads(child.communicate()[0]) for child in children]
    latencies = sorted(ms for r in results for ms in r["latencies_ms"])
    if not latencies:
        raise RuntimeError(f"no request completed against {url}")
    return {
        "req_s": sum(len(r["latencies_ms"]) / r["elapsed_s"] for r in results),
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "requests": float(len(latencies)),
        "failed": float(sum(r["failed"] for r in results)),
        "socket_errors": 0.0,
    }


def main() -> None:
    url, body_file, seconds, connections = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    body = body_file.read_bytes()
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(_load(url, body, seconds, connections))
    else:
        result = uvloop.run(_load(url, body, seconds, connections))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
