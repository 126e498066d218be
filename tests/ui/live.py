"""A real HTTP server on a free port around the app, for browser tests and benchmarks,
and a small labelled-by-topic data set (banking77 questions) to fill it with."""
from __future__ import annotations

import csv
import threading
from pathlib import Path

from werkzeug.serving import make_server

REPO = Path(__file__).resolve().parents[2]
BANKING77 = REPO.parent / "shared" / "data" / "banking77" / "train.csv"
# Four intents that read differently enough for a model trained on a few dozen comments.
TOPICS = {
    "card_arrival": "Card > Arrival",
    "exchange_rate": "Exchange > Rate",
    "request_refund": "Refund > Request",
    "top_up_failed": "Top Up > Failed",
}


def banking_comments(per_topic: int) -> list[tuple[dict, str]]:
    """(NewComment, the label its intent maps to), interleaved by topic and with
    distinct timestamps, so `recent` order mixes topics."""
    by_topic: dict[str, list[str]] = {t: [] for t in TOPICS}
    with BANKING77.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            texts = by_topic.get(row["category"])
            if texts is not None and len(texts) < per_topic:
                texts.append(row["text"])
    out = []
    for k in range(per_topic):
        for topic, texts in by_topic.items():
            i = len(out)
            channel = "email" if i % 3 else "chat"
            out.append(({
                "id": f"b-{i:05d}",
                "timestamp": f"2024-0{1 + i % 6}-{1 + i % 27:02d}T10:{i % 60:02d}:00Z",
                "messages": [{"body": {"text": texts[k]}, "from": f"customer{i}@example.org"}],
                "user_properties": {"string:Channel": channel},
            }, TOPICS[topic]))
    return out


class LiveServer:
    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="live-server")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join()
