"""Wire protocols: each turns its body shape into a DataFrame and renders the answer its way.

``oip_v2`` is the Open Inference Protocol (KServe V2 / Triton REST), ``invocations`` MLflow's
scoring endpoint, ``records`` modelyard's own plain JSON records endpoint. Each module exposes
``routes(dispatcher, limits)`` returning Starlette routes.
"""
