"""Hostile-input fuzzing against a live `reinfer-clone serve` (gunicorn).

Sends N requests built from valid requests of the main routes with one value
replaced by something hostile (5,000-deep JSON, integers beyond 64 bits, 401
digits, NaN / Infinity, lone surrogates, NUL, datetimes that overflow after
their offset), plus NUL in paths and query strings, raw non-ASCII request
lines, request lines of the contract's largest size and beyond, and 10 kB
tokens. Prints how many answers were 5xx, how many were not the JSON envelope,
and how many refused (4xx/5xx) requests changed the database.

    python bench/fuzz_hostile.py [--database-url URL] [--requests 10000] [--seed 1]

Without --database-url it uses a fresh SQLite file. A PostgreSQL URL must name
an empty database (it is migrated, then filled by the run).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from urllib.parse import quote

from sqlalchemy import select

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from reinfer_clone.db import Base, Database  # noqa: E402

POISON = "__POISON__"
DEEP = "[" * 5000 + "]" * 5000
POISONS = {
    "deep": DEEP, "deep-65": "{\"a\":" * 65 + "1" + "}" * 65,
    "int-2^64": "18446744073709551616", "int-neg": "-9223372036854775809", "digits-401": "9" * 401,
    "nan": "NaN", "inf": "Infinity", "-inf": "-Infinity", "1e400": "1e400",
    "surrogate": '"\\ud800"', "surrogate-low": '"x\\udc00"', "nul": '"a\\u0000b"',
    "dt-late": '"9999-12-31T23:59:59-10:00"', "dt-early": '"0001-01-01T00:00:00+05:00"',
    "int-2^31": "2147483648",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def leaves(value, path=()):
    """Paths of every value of a JSON document (containers included)."""
    yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from leaves(child, path + (key,))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from leaves(child, path + (i,))


def replaced(value, path, new):
    if not path:
        return new
    value = json.loads(json.dumps(value))
    node = value
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = new
    return value


class Client:
    def __init__(self, port, token):
        self.port, self.token = port, token

    def raw(self, data: bytes):
        with socket.create_connection(("127.0.0.1", self.port), timeout=300) as sock:
            try:
                sock.sendall(data)
            except OSError:
                pass
            response = http.client.HTTPResponse(sock)
            response.begin()
            body = response.read()
        return response.status, response.getheader("Content-Type", ""), body

    def send(self, method, target, body: bytes | None = None, token=None, extra=b""):
        head = (f"{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                f"Authorization: Bearer {token or self.token}\r\nContent-Length: {len(body or b'')}\r\n")
        return self.raw(head.encode("latin-1") + extra + b"\r\n" + (body or b""))

    def json(self, method, target, body=None):
        status, _, data = self.send(method, target, None if body is None else json.dumps(body).encode())
        assert status == 200, (method, target, status, data[:300])
        return json.loads(data)


def snapshot(database) -> dict:
    out = {}
    with database.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in ("api_tokens", "training_jobs"):  # last-use stamps, retrain queue
                continue
            out[table.name] = sorted(repr(tuple(r)) for r in conn.execute(select(table)))
    return out


def templates(source_id, uid):
    comment = {"id": "f-1", "timestamp": "2024-01-01T00:00:00Z", "thread_id": "t",
               "user_properties": {"string:a": "x", "number:n": 1},
               "messages": [{"body": {"text": "hi", "text_markup": [{"k": 1}]}, "sent_at": "2024-01-01T00:00:00Z"}]}
    label = {"name": "L", "sentiment": "positive", "metadata": {"m": [1, {"x": "y"}]}}
    flt = {"timestamp": {"minimum": "2024-01-01T00:00:00Z"}, "user_properties": {"number:n": {"minimum": 0}}}
    ds, pds, src = "/api/v1/datasets/fz/ds", "/api/_private/datasets/fz/ds", "/api/v1/sources/fz/in"
    return [
        ("POST", f"{src}/sync", {"comments": [comment]}),
        ("PUT", "/api/_private/sources/fz/in/comments", {"comments": [comment]}),
        ("POST", src, {"source": {"title": "t", "sensitive_properties": ["a"]}}),
        ("PUT", "/api/v1/sources/fz/new", {"source": {"title": "t"}}),
        ("POST", f"{src}/statistics", {"comment_filter": flt}),
        ("POST", f"{pds}/labellings/{uid}", {"labelling": [{"group": "default", "assigned": [label]}],
                                              "entities": {"assigned": [{"name": "e", "spans": [{"char_start": 0}]}]},
                                              "moon_forms": [{"f": {"v": 1}}]}),
        ("PUT", f"{pds}/labels/default", {"label_defs": [{"name": "L2"}]}),
        ("POST", f"{pds}/query", {"filter": flt, "order": {"kind": "recent"}, "limit": 5}),
        ("POST", f"{pds}/statistics", {"comment_filter": flt, "time_resolution": "day", "label_timeseries": True}),
        ("POST", f"{pds}/summary", {"filter": flt}),
        ("POST", f"{pds}/recent", {"filter": flt, "limit": 5}),
        ("POST", f"{ds}/export", {"from": "2024-01-01T00:00:00Z", "limit": 5}),
        ("PUT", f"{ds}/streams", {"stream": {"name": "s2", "comment_filter": flt}}),
        ("POST", f"{ds}/streams/s", {"stream": {"title": "x", "comment_filter": flt}}),
        ("POST", f"{ds}/streams/s/fetch", {"size": 2}),
        ("POST", f"{ds}/streams/s/reset", {"to_comment_created_at": "2024-01-01T00:00:00Z"}),
        ("PUT", f"{ds}/streams/s/exceptions", {"exceptions": [{"metadata": {"type": "x"}, "uid": uid}]}),
        ("PUT", f"{ds}/model-tags/live", {"version": 1}),
        ("POST", "/api/_private/projects/fz", {"project": {"title": "t"}}),
        ("PUT", "/api/v1/datasets/fz/ds2", {"dataset": {"title": "t", "source_ids": [source_id]}}),
        ("POST", "/v2/models/1/inference", {"texts": ["hello"]}),
    ]


def url_cases(uid, source_id):
    src, pds = "/api/v1/sources/fz/in", "/api/_private/datasets/fz/ds"
    long_ids = "&".join("id=" + quote("\U0001F600" * 1020 + f"{i:04d}") for i in range(1024))
    return [
        ("GET", "/api/v1/sources/id:%00", None), ("GET", f"{src}/comments/a%00", None),
        ("DELETE", f"{src}/comments?id=%00", None), ("GET", f"{pds}/labellings?id=%00", None),
        ("GET", f"{src}/comments?from_timestamp=9999-12-31T23:59:59-10:00", None),
        ("GET", f"{src}/comments?to_timestamp=0001-01-01T00:00:00%2B05:00", None),
        ("GET", f"{src}/comments?limit={'9' * 401}", None),
        ("GET", "/api/v1/datasets/fz/ds/labellers/99999999999999999999/validation", None),
        ("POST", "/v2/models/99999999999999999999/inference", b'{"texts": ["x"]}'),
        ("DELETE", f"{src}/comments?{long_ids}", None),
        ("GET", f"{pds}/labellings?{long_ids.replace('id=', 'id=' + source_id + '.')}", None),
    ]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/fuzz.sqlite3"
    token, port = secrets.token_urlsafe(32), free_port()
    env = dict(os.environ, REINFER_CLONE_ADMIN_TOKEN=token, REINFER_CLONE_TRAINING_WORKER="none",
               REINFER_CLONE_RETRAIN_DELAY="-1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               # Off: otherwise most of the run is 429s that never reach a handler.
               REINFER_CLONE_RATE_LIMIT="0")
    server = subprocess.Popen([sys.executable, "-c", "from reinfer_clone.cli import main; main()",
                               "--database-url", url, "serve", "--port", str(port), "--workers", "2"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = Client(port, token)
    database = Database(url)
    try:
        for _ in range(600):
            try:
                user = client.json("GET", "/auth/user")["user"]
                break
            except OSError:
                time.sleep(0.2)
        client.json("PUT", "/api/_private/projects/fz", {"project": {}, "user_ids": [user["id"]]})
        source_id = client.json("PUT", "/api/v1/sources/fz/in", {"source": {}})["source"]["id"]
        client.json("PUT", "/api/v1/datasets/fz/ds", {"dataset": {"source_ids": [source_id]}})
        client.json("POST", "/api/v1/sources/fz/in/sync", {"comments": [
            {"id": "c0", "timestamp": "2024-01-01T00:00:00Z", "messages": [{"body": {"text": "x"}}]}]})
        client.json("PUT", "/api/v1/datasets/fz/ds/streams", {"stream": {"name": "s"}})
        uid = f"{source_id}.c0"
        cases, urls = templates(source_id, uid), url_cases(uid, source_id)
        for method, target, template in cases:  # each template is a valid request
            status, _, data = client.send(method, target, json.dumps(template).encode())
            if status != 200:
                print(f"  template {method} {target} answered {status}: {data[:160]}")
        statuses, kinds = Counter(), Counter()
        server_errors, not_json, written = [], [], []
        before = snapshot(database)
        started = time.perf_counter()
        for n in range(args.requests):
            roll = rng.random()
            if roll < 0.04:
                method, target, body = urls[n % len(urls)]
                kind, extra, tok = f"url:{target[:40]}", b"", None
            elif roll < 0.05:
                kind, method, target, body, extra, tok = "token-10kB", "GET", "/auth/user", None, b"", "t" * 10_000
            elif roll < 0.06:
                kind = "raw-line"
                line = rng.choice([b"GET /api/v1/sources/caf\xc3\xa9 HTTP/1.1", b"GET /\xff HTTP/1.1",
                                   b"GET /" + b"a" * (16 * 1024 * 1024) + b" HTTP/1.1", b"G@T / HTTP/1.1"])
                status, ctype, data = client.raw(line + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
                method = None
            else:
                method, target, template = cases[n % len(cases)]
                name, poison = rng.choice(list(POISONS.items()))
                path = rng.choice(list(leaves(template)))
                raw = json.dumps(replaced(template, path, POISON)).replace(json.dumps(POISON), poison)
                kind, body, extra, tok = f"body:{name}", raw.encode(), b"", None
            if method is not None:
                status, ctype, data = client.send(method, target, body, token=tok, extra=extra)
            kinds[kind.split(":")[0]] += 1
            if os.environ.get("FUZZ_DEBUG"):
                print(kind, method, target[:60], status, data[:150])
            statuses[status] += 1
            envelope = ctype.startswith("application/json")
            if envelope:
                try:
                    envelope = json.loads(data)["status"] in ("ok", "error")
                except (ValueError, KeyError, TypeError):
                    envelope = False
            if status >= 500:
                server_errors.append((kind, status, data[:200]))
            if not envelope:
                not_json.append((kind, status, data[:200]))
            after = snapshot(database)
            if status >= 400 and after != before:
                written.append((kind, status, data[:200]))
            before = after
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=60)
        database.dispose()
    backend = url.split(":")[0]
    print(f"backend {backend}: {args.requests} requests in {elapsed:.0f} s")
    print(f"  by kind: {dict(kinds)}")
    print(f"  by status: {dict(sorted(statuses.items()))}")
    print(f"  5xx answers: {len(server_errors)}; non-JSON answers: {len(not_json)}; "
          f"refused requests that wrote: {len(written)}")
    for label, items in (("5xx", server_errors), ("non-JSON", not_json), ("wrote", written)):
        for item in items[:5]:
            print(f"  {label}: {item}")
    return 1 if server_errors or not_json or written else 0


if __name__ == "__main__":
    sys.exit(main())
