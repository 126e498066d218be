"""Per-token rate limits (Flask-Limiter): 429 with Retry-After and the JSON
envelope, one count per token (else per address), shared through Redis, off
with "0", and a client that waits and retries (as the official one does)
still uploads everything."""
import dataclasses
import json
import os
import secrets
import time

import pytest

from reinfer_clone.app import create_app

from ..helpers import Client, comment, error, iterate_comments, make_project, make_source, make_user, ok

REDIS_URL = os.environ.get("REINFER_CLONE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def limited(config, database, rate_limit, storage="memory://"):
    app = create_app(dataclasses.replace(config, rate_limit=rate_limit, rate_limit_storage=storage),
                     database=database)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def three_a_minute(app, config, database):
    """`app` (the fixture) empties the database; this app shares it, limited."""
    return limited(config, database, "3/minute")


def test_over_the_limit_is_429_with_retry_after_and_the_envelope(three_a_minute):
    user = make_user(three_a_minute, "alice")
    for left in (2, 1, 0):
        response = user.get("/auth/user")
        ok(response)
        assert response.headers["X-RateLimit-Limit"] == "3"
        assert response.headers["X-RateLimit-Remaining"] == str(left)
    response = user.get("/auth/user")
    message = error(response, 429)
    assert "3 per 1 minute" in message
    assert 0 < int(response.headers["Retry-After"]) <= 60
    # Another token has a count of its own.
    ok(make_user(three_a_minute, "bob").get("/auth/user"))


def test_a_limited_write_writes_nothing(three_a_minute):
    admin = make_user(three_a_minute, "admin", global_permissions=["root"])
    make_project(admin, "acme")
    make_source(admin, "acme", "inbox")
    ok(admin.put("/api/_private/sources/acme/inbox/comments", json={"comments": [comment(1)]}))
    error(admin.put("/api/_private/sources/acme/inbox/comments", json={"comments": [comment(2)]}), 429)
    reader = make_user(three_a_minute, "reader", global_permissions=["root"])
    assert [c["id"] for c in iterate_comments(reader)] == ["c-00001"]


def test_invented_tokens_share_their_address_count(three_a_minute):
    anonymous = three_a_minute.test_client()
    for _ in range(3):
        error(anonymous.get("/auth/user", headers={"Authorization": f"Bearer {secrets.token_hex(8)}"}), 401)
    error(anonymous.get("/auth/user", headers={"Authorization": f"Bearer {secrets.token_hex(8)}"}), 429)
    error(anonymous.get("/auth/user"), 429)
    # A valid token is counted as itself, from the same address.
    ok(make_user(three_a_minute, "carol").get("/auth/user"))


def test_zero_turns_the_limit_off(app, config, database):
    user = make_user(limited(config, database, "0"), "dave")
    for _ in range(20):
        response = user.get("/auth/user")
        ok(response)
        assert "X-RateLimit-Limit" not in response.headers


def _redis_or_skip():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no Redis at {REDIS_URL}")


def test_two_processes_share_the_count_through_redis(app, config, database):
    _redis_or_skip()
    first = limited(config, database, "3/minute", REDIS_URL)
    second = limited(config, database, "3/minute", REDIS_URL)
    user = make_user(first, "erin")  # a fresh random token: a fresh count
    on_first = Client(first.test_client(), user.token)
    on_second = Client(second.test_client(), user.token)
    ok(on_first.get("/auth/user"))
    ok(on_second.get("/auth/user"))
    ok(on_first.get("/auth/user"))
    error(on_second.get("/auth/user"), 429)
    error(on_first.get("/auth/user"), 429)
    # Memory storage: each process counts alone.
    alone = limited(config, database, "3/minute")
    ok(Client(alone.test_client(), user.token).get("/auth/user"))


class RetryingClient(Client):
    """What the official client does with a 429: wait `Retry-After`, then retry."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.throttled = 0

    def request(self, method, path, json=None, headers=None, **kwargs):
        while True:
            response = super().request(method, path, json=json, headers=headers, **kwargs)
            if response.status_code != 429:
                return response
            self.throttled += 1
            time.sleep(max(float(response.headers["Retry-After"]), 0.05))


def test_a_throttled_jsonl_upload_still_completes(app, config, database, tmp_path):
    """`re create comments --file x.jsonl --batch-size 4` against a limit of 3
    requests a second: it is throttled, waits, and every comment arrives."""
    fast = limited(config, database, "3/second")
    admin = make_user(fast, "admin", global_permissions=["root"])
    client = RetryingClient(fast.test_client(), admin.token)
    ok(client.put("/api/_private/projects/acme", json={"project": {}, "user_ids": [admin.user_id]}))
    ok(client.put("/api/v1/sources/acme/inbox", json={"source": {}}))
    path = tmp_path / "comments.jsonl"
    path.write_text("".join(json.dumps({"comment": comment(i)}) + "\n" for i in range(40)))
    lines = [json.loads(line)["comment"] for line in path.read_text().splitlines()]
    ok(client.get("/auth/user"))
    ok(client.get("/api/v1/sources/acme/inbox"))
    for start in range(0, len(lines), 4):
        ok(client.put("/api/_private/sources/acme/inbox/comments", json={"comments": lines[start:start + 4]}))
    assert client.throttled > 0
    assert sorted(c["id"] for c in iterate_comments(client)) == [f"c-{i:05d}" for i in range(40)]
