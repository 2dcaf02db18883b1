"""What tests need to run the real ``modelyard`` command in another process against a test's store."""

from __future__ import annotations

import os
import signal
import socket
import subprocess

from modelyard.config import Settings


def store_env(settings: Settings, *, user: str = "tester") -> dict[str, str]:
    """The MODELYARD_* variables that point a process at ``settings``' store, as ``user``."""
    return {
        "MODELYARD_HOME": str(settings.home),
        "MODELYARD_STORE_URI": settings.store_uri,
        "MODELYARD_ARTIFACT_URI": settings.artifact_uri,
        "MODELYARD_USER": user,
        "MODELYARD_CAPTURE_ENVIRONMENT": "false",
    }


def child_env(settings: Settings, *, user: str = "tester", **extra: str) -> dict[str, str]:
    """This process's environment without its own MODELYARD_* variables (a developer's ~/.modelyard is
    never touched), plus ``store_env`` and ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    env.update(store_env(settings, user=user))
    env.update(extra)
    return env


def stop_group(process: subprocess.Popen[str] | subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM the process group started with ``start_new_session=True``; SIGKILL if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now, for a server a test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
