"""The model registry: registered models, versions, aliases and lifecycle status, over logged models."""
