"""The nginx configuration of docs/deployment.md, in front of the server, passes
`%2F` in source names and comment ids through unchanged.

Needs the `nginx` binary (Debian's package; `.ci/run` installs it). Without it the
test is skipped, except under CI=true where it fails.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from .helpers import comment

DEPLOYMENT = Path(__file__).resolve().parent.parent / "docs" / "deployment.md"
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def documented_nginx_config() -> str:
    blocks = re.findall(r"```nginx\n(.*?)```", DEPLOYMENT.read_text(), re.S)
    assert len(blocks) == 1, "docs/deployment.md should hold exactly one nginx block"
    return blocks[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def nginx_binary():
    if NGINX is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI requires nginx (apt-get install -y nginx)")
        pytest.skip("nginx is not installed")
    return NGINX


@pytest.fixture
def backend_port(app):
    """The test app on a real HTTP port (Werkzeug's server, in a thread)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join()


@pytest.fixture
def proxy(nginx_binary, backend_port, tmp_path):
    """nginx running the documented server block, pointed at the test app."""
    port = free_port()
    site = documented_nginx_config()
    site = site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{backend_port};")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    assert f"127.0.0.1:{backend_port}" in site and f"127.0.0.1:{port}" in site
    tmp_path.chmod(0o777)  # nginx's workers may run as nobody
    temp = "\n".join(f"    {kind}_temp_path {tmp_path / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""
pid {tmp_path / 'nginx.pid'};
error_log {tmp_path / 'error.log'} warn;
events {{}}
http {{
    access_log off;
{temp}
{site}
}}
""")
    process = subprocess.Popen([nginx_binary, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            if process.poll() is not None:
                pytest.fail("nginx exited: " + process.stdout.read().decode())
            try:
                requests.get(base + "/healthz", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_encoded_slashes_survive_the_documented_nginx_config(proxy, admin):
    headers = {"Authorization": f"Bearer {admin.token}"}
    assert requests.get(proxy + "/healthz", timeout=10).json() == {"status": "ok"}

    response = requests.put(proxy + "/api/_private/projects/acme", headers=headers, timeout=10,
                            json={"project": {"title": "ACME"}, "user_ids": [admin.user_id]})
    assert response.status_code == 200, response.text
    response = requests.put(proxy + "/api/v1/sources/acme/inbox", headers=headers, timeout=10,
                            json={"source": {"title": "Inbox"}})
    assert response.status_code == 200, response.text

    # The client's form: "<project>/<name>" as one segment, the slash encoded.
    response = requests.get(proxy + "/api/v1/sources/acme%2Finbox", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert (response.json()["source"]["owner"], response.json()["source"]["name"]) == ("acme", "inbox")

    comment_id = "thread/2024//1.2"
    response = requests.put(proxy + "/api/_private/sources/acme%2Finbox/comments", headers=headers,
                            timeout=10, json={"comments": [comment(id=comment_id)]})
    assert response.status_code == 200, response.text
    encoded = comment_id.replace("/", "%2F")
    response = requests.get(proxy + f"/api/v1/sources/acme%2Finbox/comments/{encoded}", headers=headers,
                            timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["comment"]["id"] == comment_id
