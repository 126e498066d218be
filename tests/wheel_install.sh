#!/usr/bin/env bash
# Builds the wheel, installs it in a fresh virtual environment (dependencies from
# pip's cache or the index, nothing from this checkout), then, from a folder
# outside the checkout, runs `reinfer-clone db upgrade` and `serve` on a fresh
# SQLite file and checks that /readyz answers ready.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d)
SERVER=
cleanup() {
  [ -z "$SERVER" ] || { kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT
t0=$(date +%s)

"$PYTHON" -m pip wheel -q --disable-pip-version-check --no-deps -w "$WORK/dist" "$ROOT"
WHEEL=$(ls "$WORK"/dist/reinfer_clone-*.whl)
"$PYTHON" -m zipfile -l "$WHEEL" | grep -q 'reinfer_clone/migrations/script.py.mako' \
  || { echo "the wheel lacks the migrations" >&2; exit 1; }
t1=$(date +%s)

"$PYTHON" -m venv "$WORK/venv"
# --no-compile: modules are byte-compiled on first import instead of all of torch now.
"$WORK/venv/bin/pip" install -q --disable-pip-version-check --no-compile "$WHEEL"
t2=$(date +%s)

cd "$WORK"  # not the checkout: only the installed package can be imported
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export REINFER_CLONE_DATABASE_URL="sqlite:///$WORK/wheel.sqlite3"
export REINFER_CLONE_ADMIN_TOKEN="wheel-check"
"$WORK/venv/bin/python" -c 'import reinfer_clone, sys; sys.exit(0 if "site-packages" in reinfer_clone.__file__ else 1)'
"$WORK/venv/bin/reinfer-clone" db upgrade
PORT=$("$WORK/venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$WORK/venv/bin/reinfer-clone" serve --no-upgrade --port "$PORT" --workers 1 > "$WORK/server.log" 2>&1 &
SERVER=$!
ANSWER=
for _ in $(seq 1 120); do
  ANSWER=$(curl -sf "http://127.0.0.1:$PORT/readyz") && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/server.log"; echo "server exited" >&2; exit 1; }
  sleep 1
done
echo "$ANSWER" | "$WORK/venv/bin/python" -c 'import json, sys; body = json.load(sys.stdin); assert body["status"] == "ok" and body["migrations"]["current"] == body["migrations"]["head"], body'
curl -sf -H "Authorization: Bearer wheel-check" "http://127.0.0.1:$PORT/auth/user" > /dev/null
t3=$(date +%s)
echo "Wheel check passed: build $((t1 - t0)) s, fresh venv + install $((t2 - t1)) s, upgrade + serve + /readyz $((t3 - t2)) s."
