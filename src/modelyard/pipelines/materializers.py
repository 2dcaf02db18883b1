"""Materializers: how each kind of step output is stored, digested and loaded again.

=========  =====================================================  ==================================
kind       stored as                                              loaded as
=========  =====================================================  ==================================
none       nothing (a step run for its side effects)              ``None``
json       ``output.json`` in the step's run (dicts, lists, ...)  the same JSON value
dataframe  a dataset version ``<pipeline>.<step>`` (Parquet)      ``pandas.DataFrame``
ndarray    ``output.npy`` in the step's run                       ``numpy.ndarray``
model      a logged model ``runs:/<step run>/output`` (flavors)   a ``Predictor``
           with a signature (``ModelOutput`` or inferred, see
           ``signatures``)
=========  =====================================================  ==================================

The digest is what downstream cache keys are made of: the dataset digest, the model directory
digest, or the SHA-256 of the stored bytes. A DataFrame output is a dataset version and a model
output a logged model, so lineage runs from a step's run to what it produced and from there to the
runs that used it.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from modelyard.domain.lineage import NodeKind, NodeRef, Relation
from modelyard.domain.pipelines import ArtifactRef
from modelyard.errors import InvalidInput
from modelyard.models import Predictor, detect_flavor
from modelyard.pipelines.signatures import SIGNATURE_TAG, ModelOutput, plan_signature
from modelyard.sdk.client import Client
from modelyard.store.repos import lineage as lineage_rows
from modelyard.uris import parse_run_uri

OUTPUT_NAME = "output"


@dataclass(frozen=True, kw_only=True)
class MaterializeContext:
    """Where an output is stored: the client and the step's run; ``inputs`` are the values the step
    was called with (a model output takes its input example from them)."""

    client: Client
    run_id: str
    pipeline: str
    step_id: str
    inputs: Mapping[str, Any] = field(default_factory=dict)


class Materializer(Protocol):
    """Stores one kind of value. ``accepts`` is asked in registry order; the first yes wins."""

    kind: str

    def accepts(self, value: object) -> bool: ...

    def save(self, value: Any, ctx: MaterializeContext) -> ArtifactRef: ...

    def load(self, ref: ArtifactRef, client: Client) -> Any: ...


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class NoneMaterializer:
    kind = "none"

    def accepts(self, value: object) -> bool:
        return value is None

    def save(self, value: Any, ctx: MaterializeContext) -> ArtifactRef:
        return ArtifactRef(kind=self.kind, location="", digest="none")

    def load(self, ref: ArtifactRef, client: Client) -> Any:
        return None


class JsonMaterializer:
    kind = "json"

    def accepts(self, value: object) -> bool:
        if not isinstance(value, dict | list | str | int | float | bool):
            return False
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            return False
        return True

    def save(self, value: Any, ctx: MaterializeContext) -> ArtifactRef:
        data = json.dumps(value, sort_keys=True, allow_nan=False).encode("utf-8")
        path = f"{OUTPUT_NAME}.json"
        ctx.client.backend.artifacts.log_bytes(ctx.run_id, data, path)
        return ArtifactRef(kind=self.kind, location=f"runs:/{ctx.run_id}/{path}", digest=_sha256(data))

    def load(self, ref: ArtifactRef, client: Client) -> Any:
        uri = parse_run_uri(ref.location)
        return json.loads(client.backend.artifacts.read_bytes(uri.run_id, uri.path))


class DataFrameMaterializer:
    kind = "dataframe"

    def accepts(self, value: object) -> bool:
        return isinstance(value, pd.DataFrame)

    def save(self, value: Any, ctx: MaterializeContext) -> ArtifactRef:
        backend = ctx.client.backend
        name = f"{ctx.pipeline}.{ctx.step_id}"
        version = backend.datasets.log(value, name, user=ctx.client.settings.user)
        with backend.db.begin() as conn:
            lineage_rows.add(
                conn,
                NodeRef(kind=NodeKind.RUN, id=ctx.run_id),
                NodeRef(kind=NodeKind.DATASET_VERSION, id=version.node_id),
                Relation.PRODUCED,
                now_ms=version.created_at,
                properties={"step": ctx.step_id},
            )
        return ArtifactRef(kind=self.kind, location=version.uri, digest=version.digest)

    def load(self, ref: ArtifactRef, client: Client) -> Any:
        return client.backend.datasets.load(ref.location)


class NdarrayMaterializer:
    kind = "ndarray"

    def accepts(self, value: object) -> bool:
        return isinstance(value, np.ndarray) and value.dtype != object

    def save(self, value: Any, ctx: MaterializeContext) -> ArtifactRef:
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        data = buffer.getvalue()
        path = f"{OUTPUT_NAME}.npy"
        ctx.client.backend.artifacts.log_bytes(ctx.run_id, data, path)
        return ArtifactRef(kind=self.kind, location=f"runs:/{ctx.run_id}/{path}", digest=_sha256(data))

    def load(self, ref: ArtifactRef, client: Client) -> Any:
        uri = parse_run_uri(ref.location)
        return np.load(io.BytesIO(client.backend.artifacts.read_bytes(uri.run_id, uri.path)), allow_pickle=False)


class ModelMaterializer:
    kind = "model"

    def accepts(self, value: object) -> bool:
        if isinstance(value, ModelOutput):
            value = value.model
        if isinstance(value, Predictor):
            return False  # a loaded model is not saved again: the runner passes an input model through
        try:
            detect_flavor(value)
        except InvalidInput:
            return False
        return True

    def save(self, value: Any, ctx: MaterializeContext) -> ArtifactRef:
        """Log the model with the example a ``ModelOutput`` states or the step's inputs give (so it
        has a signature), and note on the step's run where its signature came from, or why none."""
        model, plan = plan_signature(value, ctx.inputs)
        logged = ctx.client.registry.log_model(
            ctx.run_id, model, OUTPUT_NAME, input_example=plan.input_example, signature=plan.signature
        )
        ctx.client.set_tag(ctx.run_id, SIGNATURE_TAG, plan.note)
        return ArtifactRef(kind=self.kind, location=logged.uri, digest=logged.digest)

    def load(self, ref: ArtifactRef, client: Client) -> Any:
        return client.registry.load_model(ref.location)


MATERIALIZERS: tuple[Materializer, ...] = (
    NoneMaterializer(),
    DataFrameMaterializer(),
    NdarrayMaterializer(),
    JsonMaterializer(),
    ModelMaterializer(),
)


def materializer_for(value: object, step_id: str) -> Materializer:
    """The materializer that stores ``value``; ``InvalidInput`` naming the step when there is none."""
    for materializer in MATERIALIZERS:
        if materializer.accepts(value):
            return materializer
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"step {step_id!r} returned {value}, which JSON cannot store")
    raise InvalidInput(
        f"step {step_id!r} returned a {type(value).__module__}.{type(value).__qualname__}; a step may return "
        "None, a DataFrame, a numpy array, a model (scikit-learn, XGBoost, LightGBM, ONNX, predict(); "
        "or ModelOutput(model, input_example=...)), "
        "or a JSON value (dict, list, str, number, bool)"
    )


def by_kind(kind: str) -> Materializer:
    for materializer in MATERIALIZERS:
        if materializer.kind == kind:
            return materializer
    raise InvalidInput(f"no materializer for stored outputs of kind {kind!r}")


def save_output(value: Any, ctx: MaterializeContext) -> ArtifactRef:
    return materializer_for(value, ctx.step_id).save(value, ctx)


def load_output(ref: ArtifactRef, client: Client) -> Any:
    return by_kind(ref.kind).load(ref, client)
