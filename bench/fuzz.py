"""Fuzz a server with hostile input and count what must never happen.

    python bench/fuzz.py                              # own server, scratch SQLite database
    python bench/fuzz.py --backend postgresql         # own server, scratch PostgreSQL database
    python bench/fuzz.py --url URL --token T --database-url DB [--max-content-length N]

Requests: schemathesis cases generated from the server's own /api/openapi.json
(positive and negative data for every operation), then hand-made classes:
JSON nested 5,000 deep, huge numbers, NaN/Infinity, lone surrogates, NUL
characters, overflowing timestamps and versions, request lines over 4 KB,
raw non-ASCII path bytes, 10 kB tokens and chunked bodies over the size limit.
Path parameters name seeded objects (tests/fuzz/world.py).

Prints, per class and in total: requests, 5xx answers, non-JSON answers, and
write requests (PUT/POST/DELETE) answered 4xx/5xx after which the database
differed (a fingerprint of every table's rows, taken after every write).
Requests run one at a time, so any change is the request's own."""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import requests
from sqlalchemy import MetaData, create_engine, select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fuzz.world import fuzz_document, live_server, placeholders_to_values, seed  # noqa: E402

WRITES = {"PUT", "POST", "DELETE", "PATCH"}
# Successful answers that are not JSON by design.
NON_JSON_OK = ("/api/docs", "/api/v1/attachments/")


class Fingerprint:
    """A digest of every table's rows (small scratch databases only)."""

    def __init__(self, database_url: str):
        self.engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
        self.metadata = MetaData()
        self.metadata.reflect(self.engine)

    def take(self) -> dict[str, str]:
        out = {}
        with self.engine.connect() as conn:
            for table in self.metadata.sorted_tables:
                rows = sorted(repr(tuple(r)) for r in conn.execute(select(table)))
                out[table.name] = hashlib.md5("\n".join(rows).encode()).hexdigest()
        return out


class Tally:
    def __init__(self, fingerprint: Fingerprint | None):
        self.fingerprint = fingerprint
        self.last = fingerprint.take() if fingerprint else None
        self.counts = defaultdict(lambda: defaultdict(int))
        self.samples = defaultdict(list)

    def record(self, klass: str, method: str, path: str, status: int | None, content_type: str,
               body: bytes, note: str = "") -> None:
        c = self.counts[klass]
        c["requests"] += 1
        label = f"{method} {path[:150]}{(' ' + note) if note else ''}"
        if status is None:
            c["no answer"] += 1
            self._sample(klass, "no answer", label)
            return
        if status >= 500:
            c["5xx"] += 1
            self._sample(klass, f"{status}", label + f" -> {body[:200]!r}")
        if not self._is_json(content_type, body) and not (status < 300 and path.startswith(NON_JSON_OK)):
            c["non-JSON"] += 1
            self._sample(klass, "non-JSON", label + f" -> {status} {content_type} {body[:120]!r}")
        if method in WRITES and self.fingerprint is not None:
            now = self.fingerprint.take()
            if status >= 400 and now != self.last:
                changed = sorted(t for t in now if now[t] != self.last.get(t))
                c["4xx/5xx that wrote"] += 1
                self._sample(klass, "wrote", label + f" -> {status}, changed {changed}")
            self.last = now

    @staticmethod
    def _is_json(content_type: str, body: bytes) -> bool:
        if not content_type.startswith("application/json"):
            return False
        try:
            json.loads(body)
            return True
        except ValueError:
            return False

    def _sample(self, klass, kind, text):
        if len(self.samples[(klass, kind)]) < 5:
            self.samples[(klass, kind)].append(text)

    def report(self) -> int:
        keys = ("requests", "5xx", "non-JSON", "4xx/5xx that wrote", "no answer")
        total = defaultdict(int)
        print(f"{'class':<22}" + "".join(f"{k:>20}" for k in keys))
        for klass, c in self.counts.items():
            print(f"{klass:<22}" + "".join(f"{c[k]:>20}" for k in keys))
            for k in keys:
                total[k] += c[k]
        print(f"{'TOTAL':<22}" + "".join(f"{total[k]:>20}" for k in keys))
        for (klass, kind), texts in sorted(self.samples.items()):
            print(f"\n[{klass}] {kind}:")
            for text in texts:
                print("   ", text)
        return total["requests"]


class Client:
    def __init__(self, base: str, token: str, tally: Tally):
        self.base, self.token, self.tally = base, token, tally
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def send(self, klass, method, path, *, json_text=None, headers=None, data=None, params=None, note=""):
        headers = dict(headers or {})
        if json_text is not None:
            data = json_text.encode("utf-8", "surrogatepass")
            headers.setdefault("Content-Type", "application/json")
        try:
            r = self.session.request(method, self.base + path, data=data, headers=headers, params=params,
                                     timeout=120)
            self.tally.record(klass, method, path, r.status_code, r.headers.get("Content-Type", ""),
                              r.content, note)
        except requests.RequestException as error:
            self.tally.record(klass, method, path, None, "", b"", f"{note} {type(error).__name__}")

    def raw(self, klass, request_bytes: bytes, label: str):
        """A request written byte by byte (what requests would refuse or re-encode)."""
        host, port = urlsplit(self.base).hostname, urlsplit(self.base).port
        try:
            with socket.create_connection((host, port), timeout=60) as sock:
                sock.sendall(request_bytes)
                chunks = []
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
            response = b"".join(chunks)
            head, _, body = response.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            status = int(lines[0].split()[1])
            content_type = next((l.split(b":", 1)[1].strip().decode() for l in lines[1:]
                                 if l.lower().startswith(b"content-type:")), "")
            self.tally.record(klass, "RAW", label, status, content_type, body)
        except (OSError, IndexError, ValueError) as error:
            self.tally.record(klass, "RAW", label, None, "", b"", type(error).__name__)


# --- schemathesis ----------------------------------------------------------------------

def run_schemathesis(client: Client, main: dict, victim: dict, examples: int) -> None:
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    document = requests.get(client.base + "/api/openapi.json", timeout=60).json()
    schema = schemathesis.openapi.from_dict(fuzz_document(document, 16, 2048))
    schema.config.generation.update(with_security_parameters=False)
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            klass = f"schemathesis-{mode.value}"

            @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck))
            @given(operation.as_strategy(generation_mode=mode))
            def run(case):
                placeholders_to_values(case, main, victim)
                kwargs = case.as_transport_kwargs(base_url=client.base,
                                                  headers={"Authorization": f"Bearer {client.token}"})
                method, url = kwargs.pop("method"), kwargs.pop("url")
                kwargs.pop("timeout", None)
                try:
                    r = client.session.request(method, url, timeout=120, **kwargs)
                    client.tally.record(klass, method.upper(), urlsplit(url).path, r.status_code,
                                        r.headers.get("Content-Type", ""), r.content)
                except requests.RequestException as error:
                    client.tally.record(klass, method.upper(), urlsplit(url).path, None, "", b"",
                                        type(error).__name__)

            try:
                run()
            except Unsatisfiable:
                pass  # e.g. no negative variant of an operation without parameters
            except Exception as error:  # noqa: BLE001  (a generation problem must not stop the run)
                print(f"generation failed for {operation.label} ({mode.value}): {error}", file=sys.stderr)


# --- hand-made classes -------------------------------------------------------------------

def deep(depth: int, kind: str = "list") -> str:
    return "[" * depth + "]" * depth if kind == "list" else '{"a":' * depth + "1" + "}" * depth


def write_routes(w: dict) -> list[tuple[str, str, str]]:
    """(method, path, body template with {X} where the hostile value goes)."""
    p, n, ds = w["project"], w["name"], f"/api/v1/datasets/{w['project']}/{w['name']}"
    priv = f"/api/_private/datasets/{p}/{n}"
    comment = ('{"comments": [{"id": "x1", "timestamp": "2024-01-01T00:00:00Z", '
               '"messages": [{"body": {"text": {X}}}]}]}')
    return [
        ("PUT", f"/api/v1/sources/{p}/{n}/comments", comment),
        ("POST", f"/api/v1/sources/{p}/{n}/sync", comment),
        ("PUT", f"/api/v1/sources/{p}/{n}/comments",
         '{"comments": [{"id": "x2", "timestamp": "2024-01-01T00:00:00Z", "messages": [{"body": '
         '{"text": "hi", "text_markup": {X}}}], "user_properties": {"string:a": "b"}}]}'),
        ("POST", f"{priv}/labellings/{w['uid']}",
         '{"labelling": [{"group": "default", "assigned": [{"name": "Billing", "sentiment": "positive", '
         '"metadata": {"m": {X}}}]}]}'),
        ("POST", f"{priv}/labellings/{w['uid']}", '{"entities": {"assigned": [{"span": {X}}]}}'),
        ("POST", f"{priv}/labellings/{w['uid']}", '{"moon_forms": [{"f": {X}}]}'),
        ("PUT", f"/api/_private/projects/{p}x", '{"project": {"title": {X}}}'),
        ("POST", f"/api/_private/projects/{p}", '{"project": {"title": {X}}}'),
        ("POST", f"/api/v1/sources/{p}/{n}", '{"source": {"title": {X}, "sensitive_properties": [{X}]}}'),
        ("PUT", f"{priv}/labels/default", '{"label_defs": [{"name": {X}}]}'),
        ("PUT", f"{ds}/model-tags/live", '{"version": {X}}'),
        ("POST", f"{ds}/streams/{w['stream']}/fetch", '{"size": {X}}'),
        ("POST", f"{ds}/streams/{w['stream']}/reset", '{"to_comment_created_at": {X}}'),
        ("POST", f"{ds}/streams/{w['stream']}/advance", '{"sequence_id": {X}}'),
        ("PUT", f"{ds}/streams/{w['stream']}/exceptions",
         '{"exceptions": [{"uid": "' + w["uid"] + '", "metadata": {"type": {X}}}]}'),
        ("PUT", f"{ds}/streams", '{"stream": {"name": "s2", "comment_filter": {X}}}'),
        ("POST", f"{priv}/query", '{"filter": {"user_properties": {"number:Score": {"minimum": {X}}}}}'),
        ("POST", f"{priv}/query", '{"filter": {"timestamp": {"minimum": {X}}}}'),
        ("POST", f"{priv}/statistics", '{"comment_filter": {"timestamp": {"maximum": {X}}}}'),
        ("POST", f"{priv}/summary", '{"filter": {"timestamp": {"minimum": {X}}}}'),
        ("POST", f"/api/v1/sources/{p}/{n}/statistics", '{"comment_filter": {"timestamp": {"minimum": {X}}}}'),
        ("POST", f"{ds}/labellers/1/predict", '{"documents": [{"messages": [{"body": {"text": {X}}}]}]}'),
        ("POST", f"{ds}/labellers/1/predict", '{"documents": [{"messages": [{"body": {"text": "a"}}]}], '
                                              '"threshold": {X}}'),
        ("POST", f"/v2/models/{w['model_id']}/inference", '{"texts": [{X}]}'),
        ("POST", f"{priv}/search", '{"query": {X}}'),
        ("POST", f"{priv}/discover", '{"n_clusters": {X}}'),
        ("PUT", "/api/_private/users", '{"user": {"username": {X}, "email": "z@example.org"}}'),
    ]


HOSTILE_VALUES = {
    "deep-json": [deep(5000), deep(5000, "dict"), '{"x": ' + deep(5000) + "}", deep(100_000)],
    "huge-numbers": ["18446744073709551616", "2147483648", "9223372036854775808", "1" + "0" * 400,
                     "-" + "9" * 30, "1e400", "-1e400", "1.5e308"],
    "nan-infinity": ["NaN", "Infinity", "-Infinity", '{"a": NaN}', "[Infinity]"],
    "lone-surrogates": ['"\\ud800"', '"a\\udfffb"', '["\\ud800"]', '"\\udc00\\ud800"'],
    "nul-characters": ['"\\u0000"', '"a\\u0000b"', '["\\u0000"]', '"Billing\\u0000"'],
    "timestamps": ['"9999-12-31T23:59:59-10:00"', '"0001-01-01T00:00:00+05:00"', '"9999-12-31T23:59:59.999999-23:59"',
                   '"0000-01-01T00:00:00Z"', '"2024-13-45T25:61:61Z"'],
}


def hand_made(client: Client, main: dict, max_content_length: int, repeat: int) -> None:
    p, n, ds = main["project"], main["name"], f"/api/v1/datasets/{main['project']}/{main['name']}"
    routes = write_routes(main)
    for _ in range(repeat):
        for klass, values in HOSTILE_VALUES.items():
            for method, path, template in routes:
                for value in values:
                    client.send(klass, method, path, json_text=template.replace("{X}", value))
    for _ in range(repeat):
        # Query strings and path segments.
        for value in ("9999-12-31T23:59:59-10:00", "0001-01-01T00:00:00+05:00"):
            client.send("timestamps", "GET", f"/api/v1/sources/{p}/{n}/comments",
                        params={"from_timestamp": value})
        for version in ("99999999999999999999", "18446744073709551616", "2147483648", "-1"):
            client.send("huge-numbers", "GET", f"{ds}/labellers/{version}/validation")
            client.send("huge-numbers", "POST", f"/v2/models/{version}/inference", json_text='{"texts": ["a"]}')
            client.send("huge-numbers", "GET", f"/api/v1/sources/{p}/{n}/comments", params={"limit": version})
        for segment in ("%00", "a%00b", "%ED%A0%80", "%FF%FE", "%C0%AF"):
            for path in (f"/api/v1/sources/id:{segment}", f"/api/v1/sources/{p}/{segment}",
                         f"/api/v1/datasets/{p}/{segment}", f"/api/_private/projects/{segment}",
                         f"/api/v1/sources/{p}/{n}/comments/{segment}"):
                client.send("nul-characters" if "00" in segment else "lone-surrogates", "GET", path)
            client.send("nul-characters", "DELETE", f"/api/v1/sources/{p}/{n}/comments?id={segment}")
        # Request lines over 4 KB, including legitimate ones.
        ids = "&".join(f"id=c{i:04d}" for i in range(1024))
        client.send("long-request-line", "DELETE", f"/api/v1/sources/{p}/{n}/comments?{ids}")
        client.send("long-request-line", "GET", f"/api/_private/datasets/{p}/{n}/labellings?"
                    + "&".join(f"id={main['source_id']}.c{i:04d}" for i in range(200)))
        for size in (4_100, 8_200, 16_400, 65_000):
            client.send("long-request-line", "GET", f"/api/v1/sources/{p}/{n}/comments?after=" + "a" * size)
            client.send("long-request-line", "GET", "/api/v1/sources/" + "b" * size)
        # Raw bytes in the path and in headers.
        token = client.token.encode()
        for raw_path in (b"/api/v1/sources/\xff\xfe", b"/api/v1/sources/fz/\xc3\x28",
                         b"/api/v1/sources/id:\x80", b"/api/_private/projects/caf\xe9",
                         b"/api/v1/datasets/" + "é".encode() + b"/x"):
            for auth in (b"Bearer " + token, b"Bearer caf\xe9"):
                request = (b"GET " + raw_path + b" HTTP/1.1\r\nHost: localhost\r\nAuthorization: " + auth
                           + b"\r\nConnection: close\r\n\r\n")
                client.raw("raw-path-bytes", request, raw_path.decode("latin-1"))
        for size in (10_000, 20_000, 65_000):
            client.send("big-token", "GET", "/api/v1/sources", headers={"Authorization": "Bearer " + "t" * size})
            client.send("big-token", "GET", "/auth/user", headers={"X-Filler": "f" * size})
        # Chunked bodies over the limit (requests sends a generator chunked).
        for total in (max_content_length + 1, max_content_length * 2):
            def body(total=total):
                head = b'{"comments": [{"id": "big", "timestamp": "2024-01-01T00:00:00Z", "messages": [{"body": {"text": "'
                yield head
                sent, block = len(head), b"a" * 65536
                while sent < total:
                    yield block
                    sent += len(block)
                yield b'"}}]}]}'
            client.send("chunked-oversize", "PUT", f"/api/v1/sources/{p}/{n}/comments", data=body(),
                        headers={"Content-Type": "application/json"})
            client.send("oversize", "PUT", f"/api/v1/sources/{p}/{n}/comments",
                        data=b'{"comments": "' + b"a" * total + b'"}', headers={"Content-Type": "application/json"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--url", help="a running server (otherwise one is started)")
    parser.add_argument("--token", help="an admin token of the running server")
    parser.add_argument("--database-url", help="the running server's database, for the write check")
    parser.add_argument("--max-content-length", type=int, default=1024 * 1024)
    # Defaults give about 10,500 requests: schemathesis runs out of distinct cases
    # near 6,100 (narrow path parameters), each hand-made round adds about 880.
    parser.add_argument("--examples", type=int, default=36, help="schemathesis examples per operation and mode")
    parser.add_argument("--repeat", type=int, default=5, help="rounds of the hand-made classes")
    parser.add_argument("--train", action="store_true", help="train a model first (model routes answer 200)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    started = time.monotonic()
    if args.url:
        run(args.url, args.token, args.database_url, args, "fuzzm", "fuzzv")
        return
    tmp = Path(tempfile.mkdtemp(prefix="reinfer-fuzz-"))
    drop = None
    if args.backend == "sqlite":
        url = f"sqlite:///{tmp}/fuzz.sqlite3"
    else:
        from tests.conftest import _create_postgres_database

        url, drop = _create_postgres_database()
    from reinfer_clone import migrate

    migrate.upgrade(url)
    # Rate limiting off: at 600/minute half the run was 429s that never reached a handler.
    env = {"REINFER_CLONE_MAX_CONTENT_LENGTH": str(args.max_content_length), "REINFER_CLONE_RATE_LIMIT": "0"}
    try:
        with live_server(url, tmp / "server.log", workers=2, extra_env=env) as (base, token, log):
            print(f"server log: {log}", file=sys.stderr)
            run(base, token, url, args, "fz", "fzv")
            print_server_errors(log)
    finally:
        if drop:
            drop()
    print(f"\nbackend {args.backend}, {time.monotonic() - started:.0f} s")


def print_server_errors(log: Path) -> None:
    """The distinct exceptions behind the 5xx answers, from the server's log."""
    lines = log.read_text(errors="replace").splitlines()
    found = defaultdict(int)
    for i, line in enumerate(lines):
        if line.startswith("Traceback"):
            j = i + 1
            while j < len(lines) and (lines[j].startswith(" ") or lines[j].startswith("The above")
                                      or lines[j].startswith("During handling") or not lines[j]
                                      or lines[j].startswith("Traceback")):
                j += 1
            if j < len(lines):
                found[lines[j][:200]] += 1
    print("\nexceptions in the server log (distinct last lines):")
    for text, count in sorted(found.items(), key=lambda kv: -kv[1]):
        print(f"{count:>6}  {text}")


def run(base, token, database_url, args, main_project, victim_project) -> None:
    main_world = seed(base, token, main_project, train=args.train)
    victim_world = seed(base, token, victim_project)
    tally = Tally(Fingerprint(database_url) if database_url else None)
    client = Client(base, token, tally)
    hand_made(client, main_world, args.max_content_length, args.repeat)
    run_schemathesis(client, main_world, victim_world, args.examples)
    total = tally.report()
    print(f"\n{total} requests against {base}")


if __name__ == "__main__":
    main()
