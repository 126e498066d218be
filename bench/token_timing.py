"""Token lookup timing: median time of a valid and an invalid token, same run.

In process, on a scratch database with 1,000 tokens: `services.auth.authenticate`
(the lookup every request makes) for a valid and for random invalid tokens,
interleaved, against the lookup as it was before issue 11 (one ORM query for
the user, returning early on an empty token), and whole requests
(`GET /auth/user` through the Flask test client: 200 vs 401).

    .venv/bin/python bench/token_timing.py [--database-url URL] [--n 3000]
"""
from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time

from sqlalchemy import select

from reinfer_clone.app import create_app
from reinfer_clone.config import Config
from reinfer_clone.db import Database
from reinfer_clone.migrate import upgrade
from reinfer_clone.models import ApiToken, User
from reinfer_clone.services import auth, users


def before(session, token):
    """The lookup on main before issue 11."""
    if not token:
        return None
    return session.scalar(select(User).join(ApiToken).where(ApiToken.token_hash == auth.hash_token(token)))


def timed(fns: dict, valid, n):
    """Median and p90 in microseconds per (name, validity); every round calls each
    function with the valid and with a fresh invalid token, so all four see the
    same load."""
    times = {(name, v): [] for name in fns for v in (True, False)}
    for _ in range(n):
        for name, fn in fns.items():
            for is_valid in (True, False):
                token = valid if is_valid else secrets.token_urlsafe(32)
                started = time.perf_counter_ns()
                fn(token)
                times[name, is_valid].append((time.perf_counter_ns() - started) / 1000)
    return {k: (statistics.median(v), statistics.quantiles(v, n=10)[-1]) for k, v in times.items()}


def report(label, result, name):
    (vm, v90), (im, i90) = result[name, True], result[name, False]
    print(f"{label:<44} valid median {vm:7.1f} us (p90 {v90:7.1f})   invalid median {im:7.1f} us "
          f"(p90 {i90:7.1f})   valid/invalid {vm / im:.3f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--n", type=int, default=3000)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/tokens.sqlite3"
    upgrade(url)
    database = Database(url)
    app = create_app(Config(database_url=url, training_worker="none", rate_limit="0"), database=database)
    with database.session() as session:
        owner = users.create(session, f"timing{secrets.token_hex(4)}", f"{secrets.token_hex(4)}@example.org",
                             [], {})
        for _ in range(999):
            session.add(ApiToken(user_id=owner.id, token_hash=auth.hash_token(secrets.token_urlsafe(32))))
        session.commit()
        token = auth.issue_token(session, owner)
        session.commit()
    print(f"database: {url.split('://')[0]}, 1,000 tokens, {args.n} calls each way", flush=True)
    client = app.test_client()

    def fresh(lookup):
        def call(token):  # a session per call, as a request has
            with database.session() as session:
                lookup(session, token)
        return call

    fns = {"before": fresh(before), "now": fresh(auth.authenticate),
           "http": lambda t: client.get("/auth/user", headers={"Authorization": f"Bearer {t}"})}
    timed(fns, token, 50)  # warm-up
    result = timed(fns, token, args.n)
    report("lookup before (one ORM query, user object)", result, "before")
    report("lookup now (stand-in user, compare_digest)", result, "now")
    report("whole request GET /auth/user (200 vs 401)", result, "http")


if __name__ == "__main__":
    main()
