"""Every non-2xx answer is the JSON envelope `{"status": "error", "message": ...}`,
Werkzeug's own 404/405/413 and unexpected exceptions included."""
from __future__ import annotations

from flask import jsonify
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from ..errors import ServiceError
from .support import validation_error

MESSAGES = {
    404: "Not found: no such route or resource.",
    405: "Method not allowed on this route.",
    413: "Request body too large.",
}


def error_response(status: int, message: str, headers=None, **extra):
    response = jsonify({"status": "error", "message": message, **extra})
    response.status_code = status
    for key, value in headers or []:
        response.headers[key] = value
    return response


def register(app):
    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError):
        return error_response(error.status, error.message, **error.extra)

    @app.errorhandler(ValidationError)
    def marshmallow_error(error: ValidationError):
        converted = validation_error(error)
        return error_response(400, converted.message, **converted.extra)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        if status == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            message = f"Request body too large: the limit is {limit} bytes."
        else:
            message = MESSAGES.get(status) or error.description or error.name
        # Keep headers such as `Allow` on a 405; drop Werkzeug's HTML content type.
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
        return error_response(status, message, headers)

    @app.errorhandler(IntegrityError)
    def integrity_error(error: IntegrityError):
        # A unique constraint lost a race with a concurrent request: the client retries 409s.
        app.logger.info("integrity error answered as 409: %s", error.orig)
        return error_response(409, "Conflict with a concurrent change; please retry.")

    @app.errorhandler(OperationalError)
    def operational_error(error: OperationalError):
        app.logger.exception("database error")
        return error_response(503, "The database is unavailable or busy; please retry.")

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        app.logger.exception("unhandled error")
        return error_response(500, "Internal server error.")
