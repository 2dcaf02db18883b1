"""Datasets over the REST API (``DatasetService``'s method names). A version is canonicalised
here and uploaded as its canonical Parquet; the server computes the digest from the content.
Loading checks the downloaded bytes against the version's digest before reading them."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa

from modelyard.data import DatasetDiff, canonicalize, parse_role
from modelyard.data.digests import parquet_to_frame, read_source
from modelyard.domain.data import Dataset, DatasetRole, DatasetVersion, RunInput
from modelyard.errors import InvalidInput, ModelyardError
from modelyard.sdk.backends._http import Transport, decode
from modelyard.sdk.backends._remote_tracking import q

PARQUET = "application/vnd.apache.parquet"


class RemoteDatasets:
    def __init__(self, http: Transport) -> None:
        self._http = http

    def log(
        self,
        data: pd.DataFrame | pa.Table | str | os.PathLike[str],
        name: str,
        *,
        role: DatasetRole | str = DatasetRole.TRAIN,
        source: str | None = None,
        run_id: str | None = None,
        user: str = "unknown",
    ) -> DatasetVersion:
        """Store ``data`` as a version of ``name``; ``user`` is the token's user (the server's say)."""
        if isinstance(data, str | os.PathLike):
            path = Path(data).expanduser().absolute()
            frame: pd.DataFrame | pa.Table = read_source(path)
            source = source or str(path)
        else:
            frame = data
        body = canonicalize(frame).parquet
        params = {"role": parse_role(role).value, "source": source, "run_id": run_id}
        response = self._http.call(
            "POST", f"/datasets/{q(name)}/versions", params=params, content=body, headers={"content-type": PARQUET}
        )
        return decode(DatasetVersion, response.json())

    def resolve(self, uri: str) -> DatasetVersion:
        return self._http.get("/datasets/resolve", DatasetVersion, uri=uri)

    def get(self, name: str, digest_prefix: str) -> DatasetVersion:
        return self.resolve(f"datasets:/{name}@{digest_prefix}")

    def read_bytes(self, version: DatasetVersion) -> bytes:
        data = self._http.call("GET", "/datasets/content", params={"uri": version.uri}).content
        if hashlib.sha256(data).hexdigest() != version.digest:
            raise ModelyardError(f"the content of {version.uri} received from the server does not match its digest")
        return data

    def load(self, uri_or_version: str | DatasetVersion, columns: list[str] | None = None) -> pd.DataFrame:
        version = self.resolve(uri_or_version) if isinstance(uri_or_version, str) else uri_or_version
        if columns is not None:
            unknown = sorted(set(columns) - {c.name for c in version.columns})
            if unknown:
                raise InvalidInput(f"{version.uri} has no column(s) {', '.join(unknown)}")
        return parquet_to_frame(self.read_bytes(version), columns)

    def list_datasets(self) -> list[Dataset]:
        return self._http.pages("/datasets", Dataset)

    def list_versions(self, name: str) -> list[DatasetVersion]:
        return self._http.pages(f"/datasets/{q(name)}/versions", DatasetVersion)

    def add_input(
        self, uri: str, run_id: str, role: DatasetRole | str = DatasetRole.TRAIN, *, label: str | None = None
    ) -> RunInput:
        body = {"uri": uri, "role": parse_role(role).value, "label": label}
        return self._http.send("POST", f"/runs/{q(run_id)}/inputs", RunInput, body, idempotent=True)

    def inputs_of_run(self, run_id: str) -> list[RunInput]:
        return self._http.get_list(f"/runs/{q(run_id)}/inputs", RunInput)

    def runs_of(self, version: DatasetVersion) -> list[RunInput]:
        return self._http.pages("/datasets/runs", RunInput, uri=version.uri)

    def diff(self, uri_a: str, uri_b: str) -> DatasetDiff:
        return self._http.get("/datasets/diff", DatasetDiff, a=uri_a, b=uri_b)
