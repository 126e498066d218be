"""A live `reinfer-clone serve` on a scratch database, and a small world of real
objects in it, so that fuzzed path parameters name things that exist.

Used by the schemathesis run (tests/fuzz/test_schemathesis.py) and by
bench/fuzz.py. Everything goes through the HTTP API, as a client would."""
from __future__ import annotations

import copy
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

import requests

# Path parameters of the OpenAPI document -> how the world names them.
NAME = "main"  # the source, bucket, dataset and stream of each world share it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(database_url: str, log_path: Path, workers: int = 1, extra_env: dict | None = None):
    """`reinfer-clone serve` (gunicorn) on `database_url`; yields (base_url, admin_token, log_path)."""
    token = secrets.token_urlsafe(24)
    port = free_port()
    env = dict(os.environ)
    env.update({
        "REINFER_CLONE_DATABASE_URL": database_url,
        "REINFER_CLONE_ADMIN_TOKEN": token,
        "REINFER_CLONE_TRAINING_WORKER": "none",
        "REINFER_CLONE_RETRAIN_DELAY": "-1",
        "REINFER_CLONE_LOG_LEVEL": "info",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    })
    env.update(extra_env or {})
    exe = Path(sys.executable).parent / "reinfer-clone"
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if requests.get(base + "/api/openapi.json", timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start: " + log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.2)
        yield base, token, log_path
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _ok(response: requests.Response) -> dict:
    if response.status_code >= 300:
        raise RuntimeError(f"{response.request.method} {response.url}: {response.status_code} {response.text[:500]}")
    return response.json()


def seed(base: str, token: str, project: str, train: bool = False) -> dict:
    """A project with a user, a source with comments, a bucket, a dataset with
    labels and a labelled comment, a stream, a training job and (with `train`)
    a model version tagged `live`. Returns path parameter name -> value."""
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    admin = _ok(s.get(f"{base}/auth/user"))["user"]["id"]
    _ok(s.put(f"{base}/api/_private/projects/{project}",
              json={"project": {"title": project.upper()}, "user_ids": [admin]}))
    user = _ok(s.put(f"{base}/api/_private/users", json={"user": {
        "username": f"{project}-reader", "email": f"{project}-reader@example.org",
        "organisation_permissions": {project: ["sources-read", "voc-readonly"]}}}))["user"]["id"]
    source = _ok(s.put(f"{base}/api/v1/sources/{project}/{NAME}", json={"source": {"title": "Inbox"}}))["source"]
    bucket = _ok(s.put(f"{base}/api/_private/buckets/{project}/{NAME}", json={"bucket": {}}))["bucket"]
    texts = [("billing", "I was charged twice for my card payment"),
             ("billing", "Why is there an extra fee on my bill"),
             ("refund", "Please refund the order I returned"),
             ("refund", "I still have not received my refund"),
             ("other", "How do I change my address"),
             ("other", "The app crashes when I log in")] * 3
    comments = [{
        "id": f"c{i}", "timestamp": f"2024-03-{1 + i:02d}T09:00:00Z", "thread_id": f"t{i % 4}",
        "messages": [{"body": {"text": text}, "subject": {"text": f"Case {i}"}, "from": f"u{i}@example.org"}],
        "user_properties": {"string:Channel": "email" if i % 2 else "chat", "number:Score": i},
    } for i, (_, text) in enumerate(texts)]
    _ok(s.put(f"{base}/api/v1/sources/{project}/{NAME}/comments", json={"comments": comments}))
    dataset = _ok(s.put(f"{base}/api/v1/datasets/{project}/{NAME}", json={"dataset": {
        "title": "Triage", "source_ids": [source["id"]],
        "label_defs": [{"name": "Billing"}, {"name": "Refund"}, {"name": "Other"}]}}))["dataset"]
    for i, (label, _) in enumerate(texts):
        _ok(s.post(f"{base}/api/_private/datasets/{project}/{NAME}/labellings/{source['id']}.c{i}",
                   json={"labelling": [{"group": "default", "assigned": [{"name": label.capitalize(), "sentiment": "positive"}]}]}))
    _ok(s.put(f"{base}/api/v1/datasets/{project}/{NAME}/streams", json={"stream": {
        "name": NAME, "title": "Main stream"}}))
    job = _ok(s.post(f"{base}/api/v1/datasets/{project}/{NAME}/train", json={"wait": False}))["job"]
    if train:
        _ok(s.post(f"{base}/api/v1/datasets/{project}/{NAME}/train", json={"wait": True}))
        _ok(s.put(f"{base}/api/v1/datasets/{project}/{NAME}/model-tags/live", json={"version": 1}))
    model_id = _ok(s.get(f"{base}/api/v1/datasets/{project}/{NAME}"))["dataset"].get("_labelf_model_id")
    return {
        "project": project, "name": NAME, "stream": NAME,
        "source_id": source["id"], "dataset_id": dataset["id"], "bucket_id": bucket["id"],
        "user_id": user, "comment_id": "c0", "uid": f"{source['id']}.c1", "job_id": job["id"],
        "model_id": str(model_id), "version": "1", "tag": "live", "group": "default", "index": "0",
        "reference": f"{source['id']}.c0.0", "rest": "anything", "filename": "missing.txt",
        # The one tenant (contract §19); a kind no write of the fuzz run needs.
        "tenant_id": "0000000000000000", "quota_kind": "pinned_models",
    }


MISSING = "nope"


def fuzz_document(document: dict, max_items: int, max_length: int) -> dict:
    """The OpenAPI document as the fuzzers use it: path parameters narrowed to
    placeholders for the seeded objects (swapped in by `placeholders_to_values`)
    plus one missing object; `train` only with `wait: false` (training takes
    seconds a run); array and string maxima capped (work per request is bounded
    and measured by the benchmarks; boundary values at the documented maxima,
    e.g. 4,096 documents to predict, take minutes per request here)."""
    document = copy.deepcopy(document)
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    parameter["schema"] = {"type": "string", "enum": [f"@{parameter['name']}", MISSING]}
    document["components"]["schemas"]["TrainRequest"]["properties"]["wait"]["enum"] = [False]
    _cap_sizes(document, max_items, max_length)
    return document


def _cap_sizes(node, max_items: int, max_length: int) -> None:
    if isinstance(node, dict):
        if node.get("maxItems", 0) > max_items:
            node["maxItems"] = max_items
        if node.get("maxLength", 0) > max_length:
            node["maxLength"] = max_length
        for value in node.values():
            _cap_sizes(value, max_items, max_length)
    elif isinstance(node, list):
        for value in node:
            _cap_sizes(value, max_items, max_length)


def placeholders_to_values(case, main: dict, victim: dict) -> None:
    """Swap a schemathesis case's placeholders for real objects: DELETE requests
    name the expendable world, so the main world's objects stay."""
    values = victim if case.method.upper() == "DELETE" else main
    for name, value in list((case.path_parameters or {}).items()):
        if isinstance(value, str) and unquote(value) == f"@{name}":  # generated values come quoted
            case.path_parameters[name] = values[name]
