"""Model uploads in progress and logged-model tags.

A client that uploads a model's files itself (the mlflow client through the MLflow-compatible
API) first reserves a model id and a folder in its run, then uploads, then finishes; the
reservation lives in ``logged_model_uploads`` until the finished model is recorded in
``logged_models`` (which only ever holds models whose files are complete). Tags on a logged model
(``mlflow.modelVersions`` and users' own) are the one mutable part of it.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, String, Table, Text, UniqueConstraint

from modelyard.store.tables.base import metadata

logged_model_uploads = Table(
    "logged_model_uploads",
    metadata,
    Column("model_id", String(64), primary_key=True),
    Column("run_id", String(32), ForeignKey("runs.run_id"), nullable=False),
    Column("artifact_path", String(512), nullable=False),
    Column("status", String(16), nullable=False),  # PENDING or FAILED
    Column("created_time", BigInteger, nullable=False),
    UniqueConstraint("run_id", "artifact_path", name="uq_logged_model_uploads_run_path"),
)

logged_model_tags = Table(
    "logged_model_tags",
    metadata,
    Column("model_id", String(64), primary_key=True),  # a logged model's or an upload's id
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)
