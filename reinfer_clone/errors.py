"""Errors raised by services. The API layer turns them into the JSON envelope;
services never import Flask, so they speak in these terms instead of HTTP."""
from __future__ import annotations


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra


class InvalidInput(ServiceError):
    status = 400


class Unauthorized(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class TooLarge(ServiceError):
    """The request asks for more work or a larger answer than a configured limit."""
    status = 413


class Unprocessable(ServiceError):
    status = 422


def not_one_of(value, choices) -> str:
    """The exact message shape the official client's tests expect for enums."""
    return f"'{value}' is not one of {list(choices)!r}"
