"""The server as `reinfer-clone serve` runs it (gunicorn, started by the test):
what gunicorn refuses before the app sees a request is the JSON envelope too,
and the contract's longest requests (1,024 ids of 1,024 characters) get through."""
from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import quote

import pytest

from reinfer_clone import migrate
from reinfer_clone.server import MAX_HEADER_LINE, MAX_REQUEST_LINE

from ..conftest import empty_database

BODY_LIMIT = 1024 * 1024
LONG_ID = "\U0001F600" * 1023 + "x"  # 1,024 characters, 12 bytes each once percent-encoded


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, port: int, token: str):
        self.port = port
        self.token = token

    def raw(self, data: bytes, sender=None) -> tuple[int, str, dict]:
        """Send raw bytes; return (status, content type, parsed JSON body)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=120) as sock:
            if sender is None:
                sock.sendall(data)
            else:
                threading.Thread(target=sender, args=(sock,), daemon=True).start()
            response = http.client.HTTPResponse(sock)
            response.begin()
            body = response.read()
        content_type = response.getheader("Content-Type", "")
        return response.status, content_type, json.loads(body) if "json" in content_type else body

    def request(self, method: str, target: str, body=None, headers=None, token=None):
        head = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close",
                f"Authorization: Bearer {token or self.token}"]
        data = b"" if body is None else json.dumps(body).encode()
        head.append(f"Content-Length: {len(data)}")
        head.extend(f"{k}: {v}" for k, v in (headers or {}).items())
        return self.raw(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data)


def ok(answer):
    status, content_type, body = answer
    assert status == 200 and content_type == "application/json" and body["status"] == "ok", answer
    return body


def error(answer, status) -> str:
    got, content_type, body = answer
    assert got == status and content_type == "application/json", (got, content_type, str(body)[:300])
    assert body["status"] == "error" and body["message"], body
    return body["message"]


@pytest.fixture(scope="module")
def server(backend, database_url, database, tmp_path_factory):
    if backend == "sqlite":
        # A file of its own: when the server process closes the session's SQLite
        # file last it may checkpoint and delete the WAL that this process's
        # connections still map (later writers then failed with "disk I/O error").
        database_url = f"sqlite:///{tmp_path_factory.mktemp('http-server') / 'server.sqlite3'}"
        migrate.upgrade(database_url)
    else:
        empty_database(database)
    token = secrets.token_urlsafe(32)
    port = _free_port()
    env = dict(os.environ, REINFER_CLONE_ADMIN_TOKEN=token, REINFER_CLONE_TRAINING_WORKER="none",
               REINFER_CLONE_MAX_CONTENT_LENGTH=str(BODY_LIMIT), REINFER_CLONE_RETRAIN_DELAY="-1",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    process = subprocess.Popen(
        [sys.executable, "-c", "from reinfer_clone.cli import main; main()", "--database-url", database_url,
         "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--no-upgrade"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    server = Server(port, token)
    try:
        for _ in range(600):  # wait for it to listen (a readiness wait, not a timing assertion)
            if process.poll() is not None:
                pytest.fail(f"reinfer-clone serve exited with {process.returncode}")
            try:
                user = ok(server.request("GET", "/auth/user"))["user"]
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("reinfer-clone serve did not start")
        ok(server.request("PUT", "/api/_private/projects/wire",
                          {"project": {"title": "Wire"}, "user_ids": [user["id"]]}))
        source = ok(server.request("PUT", "/api/v1/sources/wire/inbox", {"source": {}}))["source"]
        ok(server.request("PUT", "/api/v1/datasets/wire/triage", {"dataset": {"source_ids": [source["id"]]}}))
        server.source_id = source["id"]
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        empty_database(database)


def _sync(server, comment_id):
    comment = {"id": comment_id, "timestamp": "2024-01-01T00:00:00Z", "messages": [{"body": {"text": "hi"}}]}
    ok(server.request("POST", "/api/v1/sources/wire/inbox/sync", {"comments": [comment]}))


def test_delete_by_1024_ids_of_1024_characters_is_accepted(server):
    _sync(server, LONG_ID)
    ids = [LONG_ID] + [("\U0001F600" * 1020) + f"{i:04d}" for i in range(1023)]
    target = "/api/v1/sources/wire/inbox/comments?" + "&".join(f"id={quote(i)}" for i in ids)
    assert len(f"DELETE {target} HTTP/1.1") > 12_000_000  # far beyond gunicorn's default 4,094
    ok(server.request("DELETE", target))
    error(server.request("GET", f"/api/v1/sources/wire/inbox/comments/{quote(LONG_ID)}"), 404)


def test_labellings_read_of_1024_uids_is_accepted(server):
    _sync(server, LONG_ID)
    uids = [f"{server.source_id}.{LONG_ID}"] + [f"{server.source_id}.{i:04d}{LONG_ID[4:]}" for i in range(1023)]
    target = "/api/_private/datasets/wire/triage/labellings?" + "&".join(f"id={quote(u)}" for u in uids)
    results = ok(server.request("GET", target))["results"]
    assert [r["comment"]["id"] for r in results] == [LONG_ID]


def test_request_line_over_the_limit_is_json_414(server):
    line = b"GET /" + b"a" * (MAX_REQUEST_LINE - 2)  # no CRLF: the server reads all of it, then refuses
    message = error(server.raw(line), 414)
    assert str(MAX_REQUEST_LINE) in message


def test_a_10_kb_token_gets_a_json_401(server):
    error(server.request("GET", "/auth/user", token="t" * 10_000), 401)


def test_header_line_over_the_limit_is_json_431(server):
    message = error(server.request("GET", "/auth/user", headers={"X-Big": "b" * (MAX_HEADER_LINE + 10)}), 431)
    assert str(MAX_HEADER_LINE) in message


@pytest.mark.parametrize("line", [
    b"GET /api/v1/sources/caf\xc3\xa9 HTTP/1.1",  # raw UTF-8 in the path
    b"GET /api/v1/sources/\xff HTTP/1.1",
    b"G@T /auth/user HTTP/1.1",
    b"GET /auth/user HTTP/9.9",
    b"GET /auth user HTTP/1.1",
])
def test_malformed_request_lines_get_json_400(server, line):
    head = line + b"\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer " + server.token.encode() + b"\r\n\r\n"
    status, content_type, body = server.raw(head)
    assert 400 <= status < 500 and content_type == "application/json", (status, body)
    assert body["status"] == "error" and body["message"]


def _chunked(server, payload: bytes):
    head = (b"POST /api/v1/sources/wire/inbox/sync HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Transfer-Encoding: chunked\r\nAuthorization: Bearer " + server.token.encode() + b"\r\n\r\n")
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(payload[i:i + 65536]), payload[i:i + 65536])
                      for i in range(0, len(payload), 65536))

    def send(sock):
        try:
            sock.sendall(head + chunks + b"0\r\n\r\n")
        except OSError:
            pass  # the server may answer and close before reading everything

    return server.raw(b"", sender=send)


def test_chunked_body_over_the_limit_is_json_413(server):
    comment = {"id": "big", "timestamp": "2024-01-01T00:00:00Z", "messages": [{"body": {"text": "x" * BODY_LIMIT}}]}
    message = error(_chunked(server, json.dumps({"comments": [comment]}).encode()), 413)
    assert str(BODY_LIMIT) in message
    error(server.request("GET", "/api/v1/sources/wire/inbox/comments/big"), 404)


def test_chunked_body_within_the_limit_is_accepted(server):
    comment = {"id": "small", "timestamp": "2024-01-01T00:00:00Z", "messages": [{"body": {"text": "x" * 1000}}]}
    ok(_chunked(server, json.dumps({"comments": [comment]}).encode()))
    ok(server.request("GET", "/api/v1/sources/wire/inbox/comments/small"))


def test_app_errors_are_still_the_envelope(server):
    error(server.request("GET", "/api/v1/sources/id:%00"), 400)
    error(server.request("GET", "/no/such/route"), 404)


def test_oversize_bodies_on_one_keep_alive_connection_all_get_json_413(server):
    """A 413 to a body the server did not read closes the connection and says so:
    announced as keep-alive, the client sent its next request (a chunked upload,
    in the fuzz run) on a connection gunicorn then closed, and got no answer."""
    import requests

    limit = BODY_LIMIT
    url = f"http://127.0.0.1:{server.port}/api/v1/sources/wire/inbox/comments"
    headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}

    def chunked(total):
        head = b'{"comments": [{"id": "big", "timestamp": "2024-01-01T00:00:00Z", "messages": [{"body": {"text": "'
        yield head
        sent = len(head)
        while sent < total:
            yield b"a" * 65536
            sent += 65536
        yield b'"}}]}]}'

    with requests.Session() as session:
        for total in (limit + 1, 2 * limit, 8 * limit):
            for data in (b'{"comments": "' + b"a" * total + b'"}', chunked(total)):
                response = session.put(url, data=data, headers=headers, timeout=120)
                assert response.status_code == 413, response.text[:300]
                assert response.headers["Content-Type"] == "application/json"
                assert str(limit) in response.json()["message"]
        # The connection after a 413 is a fresh one and works.
        assert session.get(f"http://127.0.0.1:{server.port}/auth/user", headers=headers).status_code == 200
    error(server.request("GET", "/api/v1/sources/wire/inbox/comments/big"), 404)


def test_an_error_answer_to_an_unread_large_body_closes_the_connection(server):
    data = json.dumps({"comments": "a" * (2 * BODY_LIMIT)}).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=120) as sock:
        threading.Thread(target=lambda: _send_quietly(sock, (
            f"PUT /api/v1/sources/wire/inbox/comments HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data)}\r\n"
            f"Authorization: Bearer {server.token}\r\n\r\n").encode() + data), daemon=True).start()
        response = http.client.HTTPResponse(sock)
        response.begin()
        response.read()
    assert response.status == 413 and response.getheader("Connection") == "close"
    # A small body the handler refuses but that was sent whole keeps the connection.
    assert server.request("PUT", "/api/v1/sources/wire/inbox/comments", {"comments": 1})[0] == 400


def _send_quietly(sock, data):
    try:
        sock.sendall(data)
    except OSError:
        pass  # the server may answer and close before reading everything
