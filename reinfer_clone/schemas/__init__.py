"""Marshmallow schemas: request bodies (``*Request``) and response objects."""
