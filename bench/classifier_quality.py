"""Classifier quality and speed on banking77, in process (no server).

    HF_HUB_OFFLINE=1 python bench/classifier_quality.py [--model PATH] [--no-quantize] [--skip-few]

Trains on banking77 train.csv (labels "<Parent> > <intent>", 9 parents, 77
intents) and reports: top-1 intent and parent accuracy on test.csv; the same
with 10 labelled examples per intent (fixed seed sample); training wall time
with a cold embedding cache and a retrain after 100 new labellings (warm
cache); predict latency for 8 short texts; RSS; artifact size.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import BANKING77, banking77_rows  # noqa: E402

from reinfer_clone.classifier import (  # noqa: E402
    Embedder,
    Example,
    LabelModel,
    MemoryEmbeddingCache,
    train,
)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load():
    hierarchy = json.loads((BANKING77 / "hierarchy.json").read_text())
    parent_of = {intent: parent for parent, intents in hierarchy.items() for intent in intents}

    def rows(split):
        return [(r["text"], f"{parent_of[r['category']]} > {r['category']}")
                for r in banking77_rows(split)]

    names = sorted(f"{parent} > {intent}" for intent, parent in parent_of.items())
    return rows("train"), rows("test"), names


def examples_of(rows, prefix):
    return [Example(uid=f"{prefix}-{i}", text=text, assigned={label: None})
            for i, (text, label) in enumerate(rows)]


def accuracy(model: LabelModel, embedder, cache, test) -> tuple[float, float]:
    """Top-1 among intents, and top-1 among parents, over the test rows."""
    texts = [text for text, _ in test]
    predictions = model.predict(texts, embedder, cache)
    child = parent = 0
    for (_, label), labels in zip(test, predictions):
        best_child = next(p.name for p in labels if " > " in p.name)
        best_parent = next(p.name for p in labels if " > " not in p.name)
        child += best_child == label
        parent += best_parent == label.split(" > ")[0]
    return child / len(test), parent / len(test)


def timed_train(examples, names, embedder, cache):
    started = time.perf_counter()
    model, validation = train(examples, names, embedder, has_sentiment=False, cache=cache)
    return model, validation, time.perf_counter() - started


def loaded_model_rss(artifact_path: str, model: str | None, quantize: bool) -> None:
    """Run in a fresh process: what a server holding one model costs."""
    embedder = Embedder(model, quantize=quantize)
    loaded = LabelModel.from_bytes(Path(artifact_path).read_bytes())
    for _ in range(20):
        loaded.predict(["I am still waiting on my card?", "How do I top up?"] * 4, embedder)
    print(f"{rss_mb():.0f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="embedding model folder (default: the packaged MiniLM)")
    parser.add_argument("--no-quantize", action="store_true")
    parser.add_argument("--skip-few", action="store_true", help="skip the 10-per-intent run")
    parser.add_argument("--few-seeds", type=int, default=1,
                        help="also average the 10-per-intent run over seeds 0..N-1")
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--rss-of", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_of:
        return loaded_model_rss(args.rss_of, args.model, not args.no_quantize)

    train_rows, test_rows, names = load()
    started = time.perf_counter()
    embedder = Embedder(args.model, quantize=not args.no_quantize)
    print(f"embedding model {embedder.model_id} (dim {embedder.dimension}), "
          f"loaded in {time.perf_counter() - started:.1f}s, RSS {rss_mb():.0f} MB")

    cache = MemoryEmbeddingCache()
    examples = examples_of(train_rows, "train")
    model, validation, seconds = timed_train(examples, names, embedder, cache)
    print(f"full data: trained on {len(examples)} comments in {seconds:.1f}s "
          f"(cold embedding cache, validation model included)")
    child, parent = accuracy(model, embedder, cache, test_rows)
    print(f"full data: intent top-1 accuracy {100 * child:.2f}%, parent {100 * parent:.2f}% "
          f"on {len(test_rows)} test comments")
    print(f"validation: train {validation.train_size}, test {validation.test_size}, "
          f"MAP {validation.mean_average_precision:.3f}, rating {validation.rating_score} "
          f"({validation.rating_quality})")

    # 100 new labelled comments, whose texts are not cached yet.
    extra = examples_of(test_rows[:100], "new")
    _, _, seconds = timed_train(examples + extra, names, embedder, cache)
    print(f"retrain after 100 new labellings (warm cache): {seconds:.1f}s")

    artifact = model.to_bytes()
    print(f"artifact: {len(artifact) / 1e6:.1f} MB")
    loaded = LabelModel.from_bytes(artifact)

    short = [text for text, _ in test_rows if len(text) <= 60][:8]
    loaded.predict(short, embedder)  # warm up
    times = []
    for _ in range(args.reps):
        t = time.perf_counter()
        loaded.predict(short, embedder)
        times.append(time.perf_counter() - t)
    times.sort()
    p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
    print(f"predict 8 short texts (no cache), {args.reps} reps: p50 "
          f"{1000 * statistics.median(times):.1f} ms, p99 {1000 * p99:.1f} ms, "
          f"min {1000 * times[0]:.1f} ms")
    print(f"this process (training data and models): RSS {rss_mb():.0f} MB, "
          f"peak {peak_rss_mb():.0f} MB")
    with tempfile.NamedTemporaryFile(suffix=".npz") as f:
        f.write(artifact)
        f.flush()
        command = [sys.executable, __file__, "--rss-of", f.name]
        command += ["--model", args.model] if args.model else []
        command += ["--no-quantize"] if args.no_quantize else []
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    print(f"fresh process with one model loaded, after predictions: RSS {out.split()[-1]} MB")

    if not args.skip_few:
        by_label: dict[str, list] = {}
        for row in train_rows:
            by_label.setdefault(row[1], []).append(row)
        scores = []
        for seed in range(max(1, args.few_seeds)):
            rng = random.Random(seed)
            few = [row for label in sorted(by_label) for row in rng.sample(by_label[label], 10)]
            model, _, seconds = timed_train(examples_of(few, "few"), names, embedder, cache)
            child, parent = accuracy(model, embedder, cache, test_rows)
            scores.append(child)
            print(f"10 per intent ({len(few)} comments, seed {seed}): intent top-1 accuracy "
                  f"{100 * child:.2f}%, parent {100 * parent:.2f}% (trained in {seconds:.1f}s)")
        if len(scores) > 1:
            print(f"10 per intent, mean over {len(scores)} seeds: {100 * statistics.mean(scores):.2f}% "
                  f"(min {100 * min(scores):.2f}%, max {100 * max(scores):.2f}%)")
    print(f"peak RSS {peak_rss_mb():.0f} MB; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
