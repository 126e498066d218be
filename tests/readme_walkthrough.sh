#!/usr/bin/env bash
# Runs the README's walkthrough as written: every ```sh block of its
# "## Walkthrough" section, in order, in one bash, against a fresh server on a
# fresh SQLite file. The only change is `URL=`, pointed at this server's port.
# Usage: [VERBOSE=1] tests/readme_walkthrough.sh   (from anywhere; needs .venv, as `make install` makes)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
WORK=$(mktemp -d)
PORT=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export REINFER_CLONE_DATABASE_URL="sqlite:///$WORK/walkthrough.sqlite3"
# The README reads the printed token; here the admin gets a known one.
export REINFER_CLONE_ADMIN_TOKEN="walkthrough-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"

"$VENV/bin/reinfer-clone" serve --port "$PORT" --workers 1 > "$WORK/server.log" 2>&1 &
SERVER=$!
cleanup() {
  kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$PORT/readyz" > /dev/null && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/server.log"; echo "server exited" >&2; exit 1; }
  sleep 1
done

# Extract the walkthrough's shell blocks.
"$VENV/bin/python" - "$ROOT/README.md" "$PORT" > "$WORK/walkthrough.sh" <<'PY'
import re, sys
readme, port = open(sys.argv[1]).read(), sys.argv[2]
section = re.search(r"^## Walkthrough.*?(?=^## )", readme, re.S | re.M).group(0)
script = "\n".join(re.findall(r"^```sh\n(.*?)^```", section, re.S | re.M))
default = "URL=http://127.0.0.1:8000\n"
assert script.count(default) == 1, "the walkthrough sets URL once"
print(script.replace(default, f"URL=http://127.0.0.1:{port}\n"))
PY

# Its own folder (it writes comments.json, triage.jsonl), with the repository's .venv.
cd "$WORK"
ln -s "$VENV" .venv
START=$(date +%s)
REINFER_TOKEN="$REINFER_CLONE_ADMIN_TOKEN" bash -euo pipefail walkthrough.sh > walkthrough.out 2>&1 || {
  cat walkthrough.out; echo "--- server log"; tail -50 "$WORK/server.log"; echo "README walkthrough FAILED" >&2; exit 1; }

# What the walkthrough did, checked: the imported copy holds every comment and the nine labellings.
H="Authorization: Bearer $REINFER_CLONE_ADMIN_TOKEN"
URL=http://127.0.0.1:$PORT
COUNT=$(curl -sf -H "$H" "$URL/api/v1/sources/acme/archive/comments?limit=100" | "$VENV/bin/python" -c 'import json, sys; print(len(json.load(sys.stdin)["comments"]))')
REVIEWED=$(curl -sf -H "$H" -X POST "$URL/api/_private/datasets/acme/archive-triage/query" \
  -d '{"filter": {"reviewed": "only_reviewed"}, "order": {"kind": "recent"}, "limit": 100}' \
  | "$VENV/bin/python" -c 'import json, sys; print(len(json.load(sys.stdin)["results"]))')
grep -q '"m-13"' walkthrough.out || { cat walkthrough.out; echo "the stream did not return m-13" >&2; exit 1; }
[ "$COUNT" = 13 ] && [ "$REVIEWED" = 9 ] || { cat walkthrough.out; echo "import: $COUNT comments, $REVIEWED reviewed (want 13, 9)" >&2; exit 1; }
[ "${VERBOSE:-0}" = 0 ] || cat walkthrough.out
echo "README walkthrough passed in $(( $(date +%s) - START )) s ($(grep -c . walkthrough.sh) lines of shell)."
