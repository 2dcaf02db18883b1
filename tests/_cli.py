"""Run the real ``modelyard`` command in a process of its own, without paying interpreter start-up.

A CLI test wants what a user gets: a separate process with its own environment, working
directory, argv, stdout, stderr and exit code. Starting a fresh interpreter for each of the
suite's hundreds of commands costs about a second each, almost all of it importing the same
third-party libraries (pandas, SQLAlchemy, typer, ...). So each test process keeps one *fork
server*: a child interpreter that imported those libraries once and, per command, forks; the
forked process sets the command's environment and working directory, points its standard streams
at files, and runs ``modelyard.cli.app:main`` exactly as the console script does, then exits
as an interpreter ends (non-daemon threads joined, atexit handlers run, streams flushed). modelyard's own modules
are never preloaded, so each command imports them under its own environment.

What a fork server cannot show — the installed ``modelyard`` script itself and its start-up — is
covered by the tests that still spawn it (``tests/cli/test_app.py``, ``test_store_location.py``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

MODELYARD_SCRIPT = str(Path(sys.executable).with_name("modelyard"))

# Imported once by the server; none of them reads MODELYARD_* or starts threads at import.
_PRELOAD = (
    "sqlalchemy", "sqlalchemy.orm", "alembic", "typer", "rich.console", "rich.table", "pydantic", "yaml",
    "numpy", "pandas", "pyarrow", "pyarrow.parquet", "httpx", "filelock", "fsspec", "scipy.stats",
)  # fmt: skip

_SERVER = r"""
import json, os, signal, sys
for name in sys.argv[1:]:
    try:
        __import__(name)
    except ImportError:
        pass

def serve():
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    while True:
        line = requests.readline()
        if not line:
            return None
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            return job
        replies.write(json.dumps({"pid": pid}).encode() + b"\n"); replies.flush()
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        replies.write(json.dumps({"code": code}).encode() + b"\n"); replies.flush()

job = serve()
if job is None:
    sys.exit(0)
os.setsid()  # its own process group: a timed-out command is killed with whatever it started
signal.signal(signal.SIGINT, signal.default_int_handler)
os.chdir(job["cwd"])
os.environ.clear()
os.environ.update(job["env"])
stdin = os.open(os.devnull, os.O_RDONLY)
out = os.open(job["out"], os.O_WRONLY | os.O_TRUNC)
err = os.open(job["err"], os.O_WRONLY | os.O_TRUNC)
for fd, target in ((stdin, 0), (out, 1), (err, 2)):
    os.dup2(fd, target)
    os.close(fd)
sys.stdin = open(0, "r", closefd=False)
sys.stdout = open(1, "w", buffering=1, closefd=False)
sys.stderr = open(2, "w", buffering=1, closefd=False)
sys.argv = job["argv"]
sys.path[0] = os.path.dirname(job["argv"][0])  # as the console script sees it (not the cwd)
import atexit, threading
try:
    from modelyard.cli.app import main
    code = main()
except SystemExit as exit:
    code = exit.code
except BaseException:
    import traceback
    traceback.print_exc()
    code = 1
# The end of an interpreter, as multiprocessing's fork children do it: wait for non-daemon threads,
# run atexit handlers, flush; then skip C-level finalization, which in a fork of a process that
# loaded pyarrow and friends waits on thread pools that were never started here (~2 s).
threading._shutdown()
atexit._run_exitfuncs()
if code is None:
    code = 0
elif not isinstance(code, int):
    print(code, file=sys.stderr)
    code = 1
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
"""


class _ForkServer:
    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
        # one BLAS thread: a thread pool does not survive fork, and tests gain nothing from more
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self._process = subprocess.Popen(
            [sys.executable, "-c", _SERVER, *_PRELOAD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return self._process.poll() is None

    def send(self, job: Mapping[str, object]) -> int:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(job).encode() + b"\n")
        self._process.stdin.flush()
        return int(self._reply()["pid"])

    def wait(self, pid: int, timeout: float) -> int:
        """The command's exit code (negative: killed by that signal), or kill it after ``timeout``."""
        done: list[int] = []
        reader = threading.Thread(target=lambda: done.append(int(self._reply()["code"])), daemon=True)
        reader.start()
        reader.join(timeout)
        if reader.is_alive():
            os.killpg(pid, signal.SIGKILL)
            reader.join()
            raise TimeoutError
        return done[0]

    def _reply(self) -> dict[str, object]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the CLI fork server died")
        reply: dict[str, object] = json.loads(line)
        return reply


_server: _ForkServer | None = None
_server_lock = threading.Lock()


def _fork_server() -> _ForkServer:
    global _server
    with _server_lock:
        if _server is None or not _server.alive():
            _server = _ForkServer()
        return _server


def run_modelyard(
    args: Sequence[str], *, env: Mapping[str, str], cwd: str | Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``modelyard *args`` in its own process with exactly ``env``: the finished process, output as text.

    Same contract as ``subprocess.run([modelyard, *args], env=env, capture_output=True, text=True)``:
    ``subprocess.TimeoutExpired`` after ``timeout`` seconds (the command is killed).
    """
    argv = [MODELYARD_SCRIPT, *args]
    with tempfile.TemporaryDirectory(prefix="modelyard-cli-") as scratch:
        out, err = Path(scratch, "stdout"), Path(scratch, "stderr")
        out.touch()
        err.touch()
        server = _fork_server()
        job = {"argv": argv, "env": dict(env), "cwd": str(cwd or os.getcwd()), "out": str(out), "err": str(err)}
        with server.lock:
            pid = server.send(job)
            try:
                code = server.wait(pid, timeout)
            except TimeoutError:
                raise subprocess.TimeoutExpired(argv, timeout, _read(out), _read(err)) from None
        return subprocess.CompletedProcess(argv, code, _read(out), _read(err))


def _read(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as stream:
        text: str = stream.read()
    return text
