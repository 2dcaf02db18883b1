"""Concurrent registrations of one name get distinct, increasing version numbers, on both engines.

Real writers: threads sharing one ``Database``, and separate Python processes each with its own
engine, all registering the same name at the same time (the model is created by whichever comes
first, so its creation races too).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from modelyard.domain.registry import LoggedModel

from .conftest import Registry

PER_WRITER = 5
_CHILD = textwrap.dedent(
    """
    import json, sys
    from modelyard.registry import ModelVersionService
    from modelyard.store.db import Database

    url, source, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sys.stdin.readline()  # start together
    service = ModelVersionService(Database(url))
    print(json.dumps([service.create("race", source, create_model=True).version for _ in range(count)]))
    """
)


def _check(per_writer: list[list[int]]) -> None:
    every = [n for numbers in per_writer for n in numbers]
    assert sorted(every) == list(range(1, len(every) + 1))  # distinct, no gaps, none lost
    for numbers in per_writer:
        assert numbers == sorted(numbers)  # each writer sees its numbers increase


@pytest.mark.slow
def test_threads_registering_one_name_get_distinct_numbers(
    reg: Registry, log_classifier: Callable[..., LoggedModel]
) -> None:
    source = log_classifier().uri

    def writer(_: int) -> list[int]:
        return [reg.versions.create("race", source, create_model=True).version for _ in range(PER_WRITER)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(writer, range(4)))
    _check(results)
    assert reg.models.get("race").latest_version == 4 * PER_WRITER


@pytest.mark.slow
def test_processes_registering_one_name_get_distinct_numbers(
    reg: Registry, log_classifier: Callable[..., LoggedModel]
) -> None:
    source = log_classifier().uri
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, reg.db.url, source, str(PER_WRITER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = []
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    for child in children:
        out, err = child.communicate(timeout=240)
        assert child.returncode == 0, err
        outputs.append(json.loads(out))
    _check(outputs)
    assert [v.version for v in reg.versions.list("race")] == list(range(4 * PER_WRITER, 0, -1))
