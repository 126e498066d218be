"""Small helpers that create objects through the API (or, for users, directly)."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import select

from reinfer_clone.api.support import DB_EXTENSION
from reinfer_clone.models import Comment, Dataset, ModelVersion, StoredPrediction
from reinfer_clone.services import auth, users

UTC_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
HEX_RE = re.compile(r"^[0-9a-f]{16}$")


class Client:
    """The Flask test client with a bearer token on every request."""

    def __init__(self, client, token: str | None, user_id: str | None = None):
        self.client = client
        self.token = token
        self.user_id = user_id

    def _headers(self, headers):
        merged = dict(headers or {})
        if self.token is not None:
            merged.setdefault("Authorization", f"Bearer {self.token}")
        return merged

    def request(self, method, path, json=None, headers=None, **kwargs):
        return self.client.open(
            path, method=method, json=json, headers=self._headers(headers), **kwargs
        )

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def put(self, path, json=None, **kw):
        return self.request("PUT", path, json=json, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def make_user(app, username, email=None, global_permissions=(), projects=None) -> Client:
    """A user with a token, made through the service layer (as the CLI does)."""
    database = app.extensions[DB_EXTENSION]
    with database.session() as session:
        user = users.create(
            session, username, email or f"{username}@example.org",
            list(global_permissions), projects or {},
        )
        token = auth.issue_token(session, user)
        session.commit()  # the caller is the unit of work: services only flush
        user_id = user.id
    return Client(app.test_client(), token, user_id)


def ok(response, status=200) -> dict:
    """Assert a success envelope and return the body."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert body["status"] == "ok", body
    assert response.mimetype == "application/json"
    return body


def error(response, status) -> str:
    """Assert an error envelope with the given status and return its message."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["status"] == "error", body
    assert isinstance(body["message"], str) and body["message"]
    return body["message"]


def is_utc(value: str) -> bool:
    return bool(UTC_RE.match(value))


def parse_utc(value: str) -> datetime:
    assert is_utc(value), value
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def make_project(admin: Client, name="acme", **fields) -> dict:
    body = {"project": fields, "user_ids": [admin.user_id]}
    return ok(admin.put(f"/api/_private/projects/{name}", json=body))["project"]


def make_source(client: Client, project="acme", name="inbox", **fields) -> dict:
    return ok(client.put(f"/api/v1/sources/{project}/{name}", json={"source": fields}))["source"]


def make_bucket(client: Client, project="acme", name="mail", **fields) -> dict:
    return ok(client.put(f"/api/_private/buckets/{project}/{name}", json={"bucket": fields}))["bucket"]


def comment(i=0, **fields) -> dict:
    """A NewComment with a distinct id and timestamp."""
    body = {
        "id": f"c-{i:05d}",
        "timestamp": f"2024-03-04T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z",
        "messages": [{"body": {"text": f"message {i}"}}],
    }
    body.update(fields)
    return body


def upload(client: Client, comments, project="acme", source="inbox"):
    return client.put(f"/api/_private/sources/{project}/{source}/comments", json={"comments": comments})


def sync(client: Client, comments, project="acme", source="inbox"):
    return client.post(f"/api/v1/sources/{project}/{source}/sync", json={"comments": comments})


def iterate_comments(client: Client, project="acme", source="inbox", **params) -> list[dict]:
    """Every page of a source's comments, following `continuation`."""
    out, after = [], None
    for _ in range(10_000):
        query = dict(params)
        if after:
            query["after"] = after
        body = ok(client.get(f"/api/_private/sources/{project}/{source}/comments", query_string=query))
        out.extend(body["comments"])
        after = body.get("continuation")
        if not after:
            return out
    raise AssertionError("pagination never ended")


def make_dataset(client: Client, project="acme", name="triage", **fields) -> dict:
    return ok(client.put(f"/api/v1/datasets/{project}/{name}", json={"dataset": fields}))["dataset"]


# --- a tiny trained model, for tests that need predictions -----------------------------

TINY_TOPICS = {
    "Billing > Refund": ["I want my money back for order {n}", "please refund the payment {n}",
                         "refund me, I was charged twice ({n})", "where is my refund for {n}"],
    "Billing > Invoice": ["send me the invoice for order {n}", "the invoice {n} has a wrong address",
                          "I need a copy of invoice {n}", "my invoice {n} shows the wrong VAT"],
    "Delivery > Late": ["parcel {n} has not arrived yet", "my delivery {n} is a week late",
                        "when will order {n} be delivered", "the courier never came with {n}"],
    "Delivery > Damaged": ["package {n} arrived broken", "the box {n} was crushed and the item damaged",
                           "item {n} came smashed", "order {n} arrived damaged and wet"],
}


def train_tiny_model(client: Client, source_id: str, project="acme", dataset="triage", source="inbox") -> int:
    """Sync 48 comments labelled with a two-level taxonomy (ids `t-00000`...),
    train synchronously (a second or two) and return the model version."""
    items = []
    for label, templates in TINY_TOPICS.items():
        for k in range(12):
            i = len(items)
            mood, sentiment = ("thank you, great service", "positive") if k % 2 == 0 else \
                ("this is unacceptable", "negative")
            text = f"{templates[k % len(templates)].format(n=1000 + i)}. {mood}"
            items.append((comment(i, id=f"t-{i:05d}", messages=[{"body": {"text": text}}]), label, sentiment))
    ok(sync(client, [c for c, _, _ in items], project=project, source=source))
    for c, label, sentiment in items:
        ok(client.post(f"/api/_private/datasets/{project}/{dataset}/labellings/{source_id}.{c['id']}",
                       json={"labelling": [{"group": "default",
                                            "assigned": [{"name": label, "sentiment": sentiment}]}]}))
    body = ok(client.post(f"/api/v1/datasets/{project}/{dataset}/train", json={"wait": True}))
    return body["model"]["version"]


def label(name, sentiment="positive") -> dict:
    return {"name": name, "sentiment": sentiment}


def assign(client: Client, uid, *labels, project="acme", dataset="triage") -> dict:
    """Review a comment with these labels assigned in the default group."""
    return ok(client.post(f"/api/_private/datasets/{project}/{dataset}/labellings/{uid}",
                          json={"labelling": [{"group": "default", "assigned": list(labels)}]}))


def predictions_for(session, by_id: dict[str, list[tuple]]) -> None:
    """A model version 1 of dataset `triage` with stored predictions for every
    comment (so nothing is scored on read), inserted directly as training would
    leave them: by_id maps a comment id to its (label, probability) pairs."""
    session.rollback()
    comments = {c.external_id: c for c in session.scalars(select(Comment))}
    dataset_id = session.scalar(select(Dataset.id).where(Dataset.name == "triage"))
    model = ModelVersion(dataset_id=dataset_id, version=1, label_names=["Billing", "Billing > Refund", "Card"],
                         artifact=b"")
    session.add(model)
    session.flush()
    for external_id, c in comments.items():
        labels = [{"name": n, "probability": p, "sentiment": -0.25} for n, p in by_id.get(external_id, [])]
        session.add(StoredPrediction(model_pk=model.pk, comment_pk=c.pk, labels=labels))
    session.commit()


def format_utc(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
