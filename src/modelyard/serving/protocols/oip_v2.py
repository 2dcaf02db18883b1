"""The Open Inference Protocol (KServe V2 / Triton) over REST, so tritonclient and KServe clients work.

Routes: ``/v2``, ``/v2/health/live``, ``/v2/health/ready``, ``/v2/models/{m}[/versions/{v}]``,
``.../ready`` and ``.../infer``. Health answers carry a JSON body *and* the status code (tritonclient
reads the code, KServe's client the body). Errors are ``{"error": message}``, unknown ``/v2`` routes
included (``not_found``). A model's versions are listed as clients pass them back (``"1"`` for
``churn/1``).

Inputs map to model columns in one of two ways: one tensor per column (named after it, shape
``[N]`` or ``[N, 1]``), or a single ``[N, k]`` tensor whose ``k`` columns are the signature's, in
order. Requests may use the binary tensor extension (``Inference-Header-Content-Length`` and
``binary_data_size``); answers are always JSON, which Triton's client reads when the header is absent.
The output ``predict`` is always available, ``predict_proba`` for classifiers; a request without
``outputs`` gets every output the metadata declares. A model version in the path picks a variant
directly (by variant name or by the number in its model version).
"""

from __future__ import annotations

import importlib.metadata
import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from modelyard.domain.models import DataType, TensorSpec
from modelyard.errors import InvalidInput, ModelyardError, NotFound
from modelyard.serving.dispatch import Answer, Dispatcher
from modelyard.serving.http import parse_json
from modelyard.serving.plan import DeploymentPlan, Variant
from modelyard.serving.protocols._handler import Parsed, serve
from modelyard.serving.rows import Inputs, Rows, predict_proba

_NUMPY: dict[str, Any] = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
    "BYTES": np.object_,
}
_FROM_SIGNATURE = {
    DataType.BOOLEAN: "BOOL",
    DataType.INT32: "INT32",
    DataType.INT64: "INT64",
    DataType.FLOAT32: "FP32",
    DataType.FLOAT64: "FP64",
    DataType.STRING: "BYTES",
    DataType.DATETIME: "BYTES",
}
OUTPUTS = ("predict", "predict_proba")


@dataclass(frozen=True, kw_only=True)
class _Context:
    model: str
    id: str | None
    outputs: tuple[str, ...] | None  # None: every output the answering model declares


def datatype_of(array: np.ndarray) -> str:
    """The OIP datatype naming ``array``'s dtype (strings and objects are ``BYTES``)."""
    kind = array.dtype.kind
    if kind == "b":
        return "BOOL"
    if kind in "iuf":
        return {"i": "INT", "u": "UINT", "f": "FP"}[kind] + str(array.dtype.itemsize * 8)
    return "BYTES"


def _parse(body: bytes, request: Request, plan: DeploymentPlan) -> Parsed[_Context]:
    header_length = request.headers.get("inference-header-content-length")
    binary = b""
    if header_length is not None:
        if not header_length.isdigit() or int(header_length) > len(body):
            raise InvalidInput("Inference-Header-Content-Length is not a length within the body")
        binary = body[int(header_length) :]
        body = body[: int(header_length)]
    data = parse_json(body)
    if not isinstance(data, dict):
        raise InvalidInput("the inference request must be a JSON object with 'inputs'")
    inputs = data.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidInput("the inference request needs a non-empty 'inputs' list")
    tensors = _tensors(inputs, binary)
    variant = _pick_variant(plan, request.path_params.get("version"))
    frame = _to_frame(tensors, (variant or plan.default).predictor.signature)
    outputs = _requested(data.get("outputs"), _declared((variant or plan.default).predictor))
    rid = data.get("id")
    if rid is not None and not isinstance(rid, str):
        raise InvalidInput("'id' must be a string")
    return Parsed(frame=frame, context=_Context(model=plan.name, id=rid, outputs=outputs), variant=variant)


def _tensors(inputs: list[Any], binary: bytes) -> dict[str, np.ndarray]:
    tensors: dict[str, np.ndarray] = {}
    offset = 0
    for index, spec in enumerate(inputs):
        if not isinstance(spec, dict):
            raise InvalidInput(f"inputs[{index}] must be an object")
        name, shape, datatype = spec.get("name"), spec.get("shape"), spec.get("datatype")
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"inputs[{index}] needs a 'name'")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape) or not shape:
            raise InvalidInput(f"input {name!r}: 'shape' must be a non-empty list of non-negative integers")
        if datatype not in _NUMPY:
            raise InvalidInput(f"input {name!r}: unknown datatype {datatype!r} (one of {sorted(_NUMPY)})")
        if name in tensors:
            raise InvalidInput(f"input {name!r} appears twice")
        size = math.prod(shape)
        parameters = spec.get("parameters") or {}
        binary_size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
        if binary_size is not None:
            if not isinstance(binary_size, int) or offset + binary_size > len(binary):
                raise InvalidInput(f"input {name!r}: binary_data_size runs past the end of the body")
            array = _from_binary(binary[offset : offset + binary_size], datatype, size, name)
            offset += binary_size
        else:
            if "data" not in spec:
                raise InvalidInput(f"input {name!r} has no 'data'")
            array = _from_json(spec["data"], datatype, name)
        if array.size != size:
            raise InvalidInput(f"input {name!r}: shape {shape} needs {size} values, got {array.size}", input=name)
        tensors[name] = array.reshape(shape)
    return tensors


def _from_json(data: Any, datatype: str, name: str) -> np.ndarray:
    if not isinstance(data, list):
        data = [data]
    try:
        array = np.array(data, dtype=object if datatype == "BYTES" else None)
    except ValueError:
        raise InvalidInput(f"input {name!r}: 'data' is ragged (rows of different lengths)") from None
    flat = array.reshape(-1)
    if flat.size == 0:  # shape [0] or [0, n]: typed, so the zero-row check can say so
        return np.empty(0, dtype=object if datatype == "BYTES" else _NUMPY[datatype])
    if datatype == "BYTES":
        if not all(isinstance(v, str) for v in flat):
            raise InvalidInput(f"input {name!r}: BYTES data must be strings")
        return flat
    if flat.dtype.kind not in "biuf":
        raise InvalidInput(f"input {name!r}: {datatype} data must be numbers or booleans")
    if datatype == "BOOL" and flat.dtype.kind != "b":
        raise InvalidInput(f"input {name!r}: BOOL data must be true/false")
    if datatype != "BOOL" and flat.dtype.kind == "b":
        raise InvalidInput(f"input {name!r}: {datatype} data must be numbers, not booleans")
    if datatype[0] in "UI" and flat.dtype.kind == "f":
        raise InvalidInput(f"input {name!r}: {datatype} data must be integers")
    target = np.dtype(_NUMPY[datatype])
    if target.kind == "f":
        # A finite value beyond FP16/FP32's range would become ±inf in the cast (with a warning):
        # refuse it; ±inf sent as such goes on to the signature, which decides per column.
        wide = flat.astype(np.float64)
        if (np.isfinite(wide) & (np.abs(wide) > np.finfo(target).max)).any():
            raise InvalidInput(f"input {name!r}: a value is out of range for {datatype}", input=name)
    try:
        return flat.astype(target)
    except OverflowError:
        raise InvalidInput(f"input {name!r}: a value is out of range for {datatype}") from None


def _from_binary(raw: bytes, datatype: str, size: int, name: str) -> np.ndarray:
    if datatype != "BYTES":
        dtype = np.dtype(_NUMPY[datatype]).newbyteorder("<")
        if len(raw) != size * dtype.itemsize:
            raise InvalidInput(f"input {name!r}: {len(raw)} bytes do not hold {size} {datatype} values")
        return np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="))
    values: list[str] = []
    position = 0
    while position < len(raw):
        if position + 4 > len(raw):
            raise InvalidInput(f"input {name!r}: truncated BYTES element")
        (length,) = struct.unpack_from("<I", raw, position)
        position += 4
        chunk = raw[position : position + length]
        if len(chunk) != length:
            raise InvalidInput(f"input {name!r}: truncated BYTES element")
        try:
            values.append(chunk.decode("utf-8"))
        except UnicodeDecodeError:
            raise InvalidInput(f"input {name!r}: BYTES elements must be UTF-8 text") from None
        position += length
    return np.array(values, dtype=object)


def _to_frame(tensors: dict[str, np.ndarray], signature: Any) -> Inputs:
    names = list(signature.input_names) if signature is not None else None
    if len(tensors) == 1:
        ((name, array),) = tensors.items()
        if array.ndim == 2 and (names is None or name not in names) and array.shape[1] != 1:
            if names is None:
                raise InvalidInput(f"input {name!r} is a matrix, but the model has no signature naming its columns")
            if array.shape[1] != len(names):
                raise InvalidInput(
                    f"input {name!r} has {array.shape[1]} columns; the model takes {len(names)}: {names}", input=name
                )
            if array.dtype.kind == "f":  # a float matrix: the array path (rows.py), a frame only if needed
                return Rows(array, tuple(names))
            return pd.DataFrame(array, columns=names)
    rows: set[int] = set()
    columns: dict[str, np.ndarray] = {}
    for name, array in tensors.items():
        if array.ndim > 2 or (array.ndim == 2 and array.shape[1] != 1):
            raise InvalidInput(f"input {name!r} has shape {list(array.shape)}; a column tensor is [N] or [N, 1]")
        columns[name] = array.reshape(-1)
        rows.add(columns[name].shape[0])
    if len(rows) != 1:
        raise InvalidInput(f"input tensors have different numbers of rows: {sorted(rows)}")
    return pd.DataFrame(columns)


def _declared(predictor: Any) -> tuple[str, ...]:
    """The outputs a model's metadata lists: ``predict``, and ``predict_proba`` for classifiers."""
    return OUTPUTS if predictor.has_predict_proba else OUTPUTS[:1]


def _requested(outputs: Any, declared: tuple[str, ...]) -> tuple[str, ...] | None:
    if outputs is None:
        return None
    if not isinstance(outputs, list):
        raise InvalidInput("'outputs' must be a list")
    names: list[str] = []
    for spec in outputs:
        name = spec.get("name") if isinstance(spec, dict) else None
        if name not in declared:
            raise InvalidInput(f"unknown output {name!r}; this model has {list(declared)}")
        names.append(name)
    return tuple(names) or None


def _pick_variant(plan: DeploymentPlan, version: str | None) -> Variant | None:
    if version is None:
        return None
    for variant in plan.variants:
        if version in (variant.name, variant.model_version, variant.model_version.rpartition("/")[2]):
            return variant
    raise NotFound(f"deployment {plan.name!r} has no version {version!r}", deployment=plan.name)


def _tensor(name: str, array: np.ndarray) -> dict[str, Any]:
    if array.dtype.kind in "OUSM":
        array = array.astype(str)
    return {
        "name": name,
        "datatype": datatype_of(array),
        "shape": list(array.shape),
        "data": array.reshape(-1).tolist(),
    }


def _render(answer: Answer, context: _Context) -> dict[str, Any]:
    outputs = []
    for name in context.outputs or _declared(answer.variant.predictor):
        if name == "predict":
            prediction = answer.prediction
            array = prediction.to_numpy() if isinstance(prediction, pd.DataFrame) else np.asarray(prediction)
        else:
            array = predict_proba(answer.variant.predictor, answer.frame)
        outputs.append(_tensor(name, array))
    return {
        "model_name": context.model,
        "model_version": answer.variant.model_version,
        "id": context.id or answer.request_id,
        "parameters": {"variant": answer.variant.name},
        "outputs": outputs,
    }


def _error(exc: ModelyardError) -> dict[str, Any]:
    return {"error": exc.message}


def _metadata(plan: DeploymentPlan) -> dict[str, Any]:
    predictor = plan.default.predictor
    signature = predictor.signature
    inputs = (
        []
        if signature is None
        else [{"name": c.name, "datatype": _FROM_SIGNATURE[c.dtype], "shape": [-1]} for c in signature.inputs]
    )
    outputs = [{"name": "predict", "datatype": _output_datatype(signature), "shape": [-1]}]
    if predictor.has_predict_proba:
        outputs.append({"name": "predict_proba", "datatype": "FP64", "shape": [-1, -1]})
    return {
        "name": plan.name,
        "versions": list(dict.fromkeys(v.model_version.rpartition("/")[2] for v in plan.variants)),
        "platform": f"modelyard_{predictor.flavor}",
        "inputs": inputs,
        "outputs": outputs,
    }


def _output_datatype(signature: Any) -> str:
    for spec in () if signature is None else signature.outputs:
        if isinstance(spec, TensorSpec):
            try:
                return datatype_of(np.empty(0, dtype=spec.dtype))
            except TypeError:
                return "BYTES"
        return _FROM_SIGNATURE[spec.dtype]
    return "BYTES"


async def not_found(request: Request, exc: Exception) -> Response:
    """The app's 404/405 answer: ``{"error": ...}`` under ``/v2`` (OIP clients parse it), plain text elsewhere."""
    status = int(getattr(exc, "status_code", 404))
    detail = str(getattr(exc, "detail", "Not Found"))
    if request.url.path == "/v2" or request.url.path.startswith("/v2/"):
        message = f"no such route: {request.method} {request.url.path}" if status == 404 else detail
        return JSONResponse({"error": message}, status_code=status, headers=getattr(exc, "headers", None))
    return PlainTextResponse(detail, status_code=status, headers=getattr(exc, "headers", None))


def routes(dispatcher: Dispatcher, *, max_body_bytes: int) -> list[Route]:
    def lookup(request: Request) -> DeploymentPlan | Response:
        try:
            plan = dispatcher.deployment(request.path_params["name"])
            _pick_variant(plan, request.path_params.get("version"))
        except ModelyardError as exc:
            return JSONResponse(_error(exc), status_code=exc.http_status)
        return plan

    async def live(request: Request) -> Response:
        return JSONResponse({"live": True})

    async def ready(request: Request) -> Response:
        return JSONResponse({"ready": True})

    async def server(request: Request) -> Response:
        return JSONResponse(
            {
                "name": "modelyard",
                "version": importlib.metadata.version("modelyard"),
                "extensions": ["binary_tensor_data"],
            }
        )

    async def model(request: Request) -> Response:
        found = lookup(request)
        return found if isinstance(found, Response) else JSONResponse(_metadata(found))

    async def model_ready(request: Request) -> Response:
        found = lookup(request)
        return found if isinstance(found, Response) else JSONResponse({"name": found.name, "ready": True})

    async def infer(request: Request) -> Response:
        return await serve(
            dispatcher,
            request,
            deployment=request.path_params["name"],
            parse=_parse,
            render=_render,
            error=_error,
            max_body_bytes=max_body_bytes,
        )

    routes: list[Route] = [
        Route("/v2", server, methods=["GET"]),
        Route("/v2/health/live", live, methods=["GET"]),
        Route("/v2/health/ready", ready, methods=["GET"]),
    ]
    for prefix in ("/v2/models/{name}", "/v2/models/{name}/versions/{version}"):
        routes += [
            Route(prefix, model, methods=["GET"]),
            Route(prefix + "/ready", model_ready, methods=["GET"]),
            Route(prefix + "/infer", infer, methods=["POST"]),
        ]
    return routes
