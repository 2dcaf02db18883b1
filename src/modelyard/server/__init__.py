"""The platform server's HTTP interfaces: modelyard's REST API and the MLflow-compatible API."""
