"""Shared pieces of the benchmark scripts: a server on a scratch database, and data."""
from __future__ import annotations

import csv
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
BANKING77 = REPO.parent / "shared" / "data" / "banking77"


def banking77_rows(split: str = "train") -> list[dict]:
    path = BANKING77 / f"{split}.csv"
    if not path.exists():
        sys.exit(f"banking77 data not found at {path}; it lives in ../shared/data/banking77")
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB."""
    total = 0
    pids = [pid] + [int(p) for p in subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total / 1024


class PeakRss:
    """Samples the RSS of a process and its children from a thread; `mb` is the
    highest seen between start() and stop()."""

    def __init__(self, pid: int, every: float = 0.2):
        self.pid, self.every, self.mb = pid, every, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while True:
            self.mb = max(self.mb, rss_mb(self.pid))
            if self._stop.wait(self.every):
                return

    def start(self) -> "PeakRss":
        self._thread.start()
        return self

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.mb


def worker_pids(pid: int) -> list[int]:
    return [int(p) for p in subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]


@contextmanager
def server(database_url: str | None = None, workers: int = 2, port: int = 8765,
           extra_env: dict | None = None):
    """`reinfer-clone serve` on a scratch database; yields (base_url, token, process)."""
    token = secrets.token_urlsafe(24)
    tmp = tempfile.mkdtemp(prefix="reinfer-bench-")
    env = dict(os.environ)
    env["REINFER_CLONE_DATABASE_URL"] = database_url or f"sqlite:///{tmp}/bench.sqlite3"
    env["REINFER_CLONE_ADMIN_TOKEN"] = token
    env["REINFER_CLONE_LOG_LEVEL"] = "warning"
    env["HF_HUB_OFFLINE"] = "1"
    env.update(extra_env or {})
    exe = Path(sys.executable).parent / "reinfer-clone"
    proc = subprocess.Popen(
        [str(exe), "serve", "--port", str(port), "--workers", str(workers)],
        # A file, not a pipe: nobody reads the pipe, and a full one would block the server.
        env=env, stdout=subprocess.DEVNULL, stderr=open(f"{tmp}/server.log", "wb"), start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    print(f"server log: {tmp}/server.log", file=sys.stderr)
    try:
        for _ in range(300):
            try:
                if requests.get(base + "/auth/user", headers={"Authorization": f"Bearer {token}"}, timeout=1).ok:
                    break
            except (requests.ConnectionError, requests.Timeout):  # a loaded machine starts slowly
                time.sleep(0.1)
        else:
            raise RuntimeError("server did not start: " + Path(f"{tmp}/server.log").read_text()[-2000:])
        yield base, token, proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def session_for(token: str) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    return s


def project_with_dataset(s: requests.Session, base: str, prefix: str) -> tuple[str, dict]:
    """A new project (the token's user a member), its source `inbox` and a
    dataset `triage` over it; returns the project name and the source."""
    me = s.get(base + "/auth/user").json()["user"]["id"]
    project = f"{prefix}{int(time.time())}"
    s.put(f"{base}/api/_private/projects/{project}", json={"user_ids": [me]}).raise_for_status()
    source = s.put(f"{base}/api/v1/sources/{project}/inbox", json={"source": {}}).json()["source"]
    s.put(f"{base}/api/v1/datasets/{project}/triage",
          json={"dataset": {"source_ids": [source["id"]]}}).raise_for_status()
    return project, source


# A server for one request's measurements: no training thread, no throttling.
QUIET_SERVER_ENV = {"REINFER_CLONE_TRAINING_WORKER": "none", "REINFER_CLONE_RATE_LIMIT": "0",
                    "REINFER_CLONE_RETRAIN_DELAY": "-1"}


def scratch_sqlite_url(prefix: str) -> str:
    return f"sqlite:///{tempfile.mkdtemp(prefix=prefix)}/bench.sqlite3"


def sync_in_parallel(token: str, base: str, project: str, rows: list[dict], batch: int = 256) -> None:
    """Sync comments into `<project>/inbox` with two clients at once."""
    from concurrent.futures import ThreadPoolExecutor

    batches = [rows[i:i + batch] for i in range(0, len(rows), batch)]
    with ThreadPoolExecutor(2) as pool:
        for r in pool.map(lambda b: session_for(token).post(
                f"{base}/api/v1/sources/{project}/inbox/sync", json={"comments": b}), batches):
            r.raise_for_status()
