"""Issue 15.6: OpenLineage details real consumers check: a URI in SourceCodeLocationJobFacet, the git
commit of a run started by the `modelyard` console script, and a custom facet whose schema exists."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import jsonschema
import pytest

from modelyard.domain.lineage import LineageEdge, LineageGraph, LineageNode, NodeKind, NodeRef, Relation
from modelyard.governance import openlineage_run_events
from modelyard.governance.openlineage import CUSTOM_FACET, custom_facet_schema
from modelyard.sdk.capture import capture_source

REPO = Path(__file__).resolve().parents[2]


def _graph(source: str) -> LineageGraph:
    run = NodeRef(kind=NodeKind.RUN, id="ab" * 16)
    data = NodeRef(kind=NodeKind.DATASET_VERSION, id="churn@" + "cd" * 32)
    attributes = {"status": "FINISHED", "start_time": 1, "end_time": 2, "git_commit": "f" * 40, "source": source}
    nodes = {
        run: LineageNode(ref=run, label="train", attributes={**attributes, "experiment": "e", "user": "ann"}),
        data: LineageNode(ref=data, label="churn"),
    }
    edge = LineageEdge(source=data, target=run, relation=Relation.INPUT, created_at=1, properties={"role": "train"})
    return LineageGraph(root=run, nodes=nodes, upstream=(edge,), downstream=(edge,))


@pytest.mark.parametrize(
    ("source", "url"),
    [
        ("/home/ann/flows/train.py", "file:///home/ann/flows/train.py"),
        ("https://github.com/ann/flows", "https://github.com/ann/flows"),
    ],
)
def test_the_source_code_location_url_is_a_uri(source: str, url: str) -> None:
    [start, _] = openlineage_run_events(_graph(source))
    location = start["job"]["facets"]["sourceCodeLocation"]
    assert location["url"] == url and location["version"] == "f" * 40
    if "uri" in jsonschema.FormatChecker.checkers:  # rfc3987 installed: the spec's own format check
        checker = jsonschema.FormatChecker(["uri"])
        jsonschema.validate(location, {"properties": {"url": {"format": "uri"}}}, format_checker=checker)
    assert urlparse(location["url"]).scheme in ("file", "https")


def test_the_custom_facet_has_a_schema_that_ships_and_validates_the_facets() -> None:
    schema = custom_facet_schema()
    shipped = json.loads((REPO / "docs" / "openlineage-facet.json").read_text())
    assert schema == shipped and schema["$id"] == CUSTOM_FACET
    assert CUSTOM_FACET.endswith("/docs/openlineage-facet.json")  # the repository path the URL names
    [start, _] = openlineage_run_events(_graph("/x.py"))
    facets = [start["run"]["facets"]["modelyard"], *(d["facets"]["modelyard"] for d in start["inputs"])]
    for facet in facets:
        assert facet["_schemaURL"] == CUSTOM_FACET
        jsonschema.Draft202012Validator(schema).validate(facet)


def test_a_console_script_run_records_the_commit_of_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`modelyard pipelines run` starts from the environment's bin folder; the code is the checkout's."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "flows.py").write_text("x = 1\n")
    git = ["git", "-C", str(tmp_path), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "add", "flows.py"], check=True)
    subprocess.run([*git, "commit", "-qm", "flows"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    script = tmp_path.parent / f"{tmp_path.name}-bin" / "modelyard"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", [str(script), "pipelines", "run", "flows:train"])

    capture_source.cache_clear()  # another test in this worker may have captured the process's source
    try:
        source = capture_source()
    finally:
        capture_source.cache_clear()

    assert source.git_commit == head and source.name == str(script)
