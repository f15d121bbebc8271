"""The HTTP layer: routes, request/response models and the mapping of domain errors to HTTP."""

from transcriber.api.app import create_app

__all__ = ["create_app"]
