"""gunicorn as `reinfer-clone serve` runs it: request-line and header limits
sized for the contract's largest requests, and gunicorn's own refusals (which
it writes before the app sees the request) in the JSON error envelope."""
from __future__ import annotations

import json

from gunicorn import util
from gunicorn.http import parser as http_parser
from gunicorn.http.errors import InvalidRequestLine, LimitRequestLine
from gunicorn.http.message import Request
from gunicorn.workers.gthread import ThreadWorker

# The longest request line the contract allows: a read or delete by 1,024 ids
# (contract 6.7, 8.3), each a uid of a 16-hex source id, '.', and a comment id
# of 1,024 characters, every character percent-encoded from 4 UTF-8 bytes
# (12 bytes), plus `id=` and `&`: 1,024 * (3 + 12 * 1,041 + 1) = 12,795,904
# bytes, with names of 256 characters in the path. Rounded up to 16 MiB, still
# a quarter of the default body limit. gunicorn itself caps a non-zero limit at
# 8,190 bytes, so its own limit is off (0) and this one is enforced below.
MAX_REQUEST_LINE = 16 * 1024 * 1024
# One header line (the contract's only large header is a bearer token; ours are
# 43 characters, but a proxy's or an SSO's may be several kB).
MAX_HEADER_LINE = 64 * 1024

MESSAGES = {
    414: f"Request line too long: the limit is {MAX_REQUEST_LINE} bytes.",
    431: f"Request header fields too large: each header line may be at most {MAX_HEADER_LINE} bytes.",
    500: "Internal server error.",
}


def gunicorn_settings() -> dict:
    return {
        "worker_class": f"{__name__}.JSONErrorWorker",
        "limit_request_line": 0,
        "limit_request_field_size": MAX_HEADER_LINE,
        # The C parser, when installed, would cap an unlimited line at 1 MiB.
        "http_parser": "python",
    }


class BoundedRequest(Request):
    """gunicorn's request with MAX_REQUEST_LINE in place of its 8,190-byte cap.
    The line is searched incrementally (gunicorn rescans the whole buffer on
    every read, quadratic in a line of megabytes)."""

    def read_line(self, unreader, buf, limit=0):
        limit = limit or MAX_REQUEST_LINE
        scanned = 0
        while True:
            end = buf.find(b"\r\n", max(scanned - 1, 0))
            # RFC 9112 2.2: a bare LF is refused, as gunicorn does.
            if buf.find(b"\n", max(scanned - 1, 0), end if end >= 0 else len(buf)) >= 0:
                raise InvalidRequestLine("bare LF as line terminator")
            if end >= 0:
                if end > limit:
                    raise LimitRequestLine(end, limit)
                return bytes(buf[:end]), bytearray(buf[end + 2:])
            if len(buf) - 2 > limit:
                raise LimitRequestLine(len(buf), limit)
            scanned = len(buf)
            self.read_into(unreader, buf)


def write_json_error(sock, status_int, reason, mesg):
    """gunicorn's `util.write_error`, answering with the app's error envelope."""
    message = MESSAGES.get(status_int)
    if message is None:
        detail = mesg if len(mesg) <= 200 else mesg[:200] + "..."
        message = f"{reason}: {detail}" if detail else reason
    body = json.dumps({"status": "error", "message": message}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


# What an error answer reads of a request body the handler left unread (gunicorn
# drains as much before reusing a connection) before it closes the connection.
UNREAD_BODY_DRAIN = 64 * 1024


def closing_unread_bodies(app):
    """WSGI middleware: an error answer (a 413 above all) to a request whose body
    was not read to its end says `Connection: close` and closes. gunicorn would
    announce keep-alive, then fail to drain a large rest and close anyway, and a
    client sending its next request on that connection got no answer at all (a
    chunked upload after an oversize one, in the fuzz run). The app cannot set
    the hop-by-hop header itself: gunicorn drops it, so its response object,
    which `start_response` is a method of, is told to close."""

    def wsgi(environ, start_response):
        def start(status, headers, exc_info=None):
            if status[:1] in ("4", "5") and not _drained(environ.get("wsgi.input")):
                force_close = getattr(getattr(start_response, "__self__", None), "force_close", None)
                if force_close is not None:
                    force_close()
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return wsgi


def _drained(body) -> bool:
    """Whether the body is read to its end, after reading at most UNREAD_BODY_DRAIN more."""
    if body is None:
        return True
    left = UNREAD_BODY_DRAIN
    try:
        while left > 0:
            data = body.read(min(left, 16 * 1024))
            if not data:
                return True
            left -= len(data)
        return not body.read(1)
    except Exception:  # a malformed chunk, a timeout: the connection is beyond reuse
        return False


class JSONErrorWorker(ThreadWorker):
    """The gthread worker, with BoundedRequest, JSON error pages and connections
    closed after an error answer that left a body unread. gunicorn has no
    setting for any of them, so they are installed in the worker process (which
    runs nothing but this server) before it accepts a connection."""

    def init_process(self):
        http_parser.RequestParser.mesg_class = BoundedRequest
        util.write_error = write_json_error
        super().init_process()

    def load_wsgi(self):
        super().load_wsgi()
        self.wsgi = closing_unread_bodies(self.wsgi)
