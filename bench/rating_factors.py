"""Do the model rating factors move as they should? banking77, in process.

    HF_HUB_OFFLINE=1 python bench/rating_factors.py [--reviewed 2400] [--sample 500]

The dataset is banking77 train.csv; `--reviewed` comments of it (a fixed
sample) are labelled, and a `--sample` of the whole is the population the
factors compare against, as training does (services/training.py). Three runs,
each a full training and rating (classifier/rating.py `rate`):

1. baseline: the reviewed comments drawn evenly from the data;
2. skewed: the same, minus 90 % of the reviewed comments of the region that
   holds most of the data (regions: the baseline's clusters) — balance must fall;
3. starved: the baseline with one intent cut to 3 examples — that intent must be
   listed under underperforming labels ("too_few_examples").
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from classifier_quality import examples_of, load  # noqa: E402

from reinfer_clone.classifier import Embedder, MemoryEmbeddingCache, embed_cached, train  # noqa: E402
from reinfer_clone.classifier import rating  # noqa: E402


def run(name, examples, names, sample_texts, embedder, cache):
    started = time.perf_counter()
    model, validation = train(examples, names, embedder, has_sentiment=False, cache=cache)
    centroids = rating.rate(model, validation, examples, sample_texts, embedder, cache)
    factors = {f["kind"]: f for f in validation.factors}
    under = factors["underperforming_labels"]["details"]["labels"]
    print(f"{name:9s} reviewed {len(examples):5d}  rating {validation.rating_score:5.1f} "
          f"({validation.rating_quality})  " + "  ".join(
              f"{kind} {f['score']:5.1f}" for kind, f in factors.items())
          + f"  underperforming {len(under)}  [{time.perf_counter() - started:.0f}s]")
    return validation, centroids, under


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviewed", type=int, default=2400)
    parser.add_argument("--sample", type=int, default=500)
    args = parser.parse_args()

    rows, _, names = load()
    rng = random.Random(0)
    # The population sample, evenly spread as population_sample() takes it.
    step = len(rows) / args.sample
    sample_texts = [rows[int(i * step)][0] for i in range(args.sample)]
    reviewed_rows = rng.sample(rows, args.reviewed)
    embedder = Embedder()
    cache = MemoryEmbeddingCache()
    print(f"banking77 train: {len(rows)} comments, {len(names)} intents; population sample {args.sample}")

    baseline = examples_of(reviewed_rows, "r")
    _, centroids, _ = run("baseline", baseline, names, sample_texts, embedder, cache)

    # The region holding most of the population sample, by the baseline's centroids.
    sample_regions = rating.assign(centroids, embed_cached(embedder, sample_texts, cache))
    biggest = int(max(set(sample_regions.tolist()), key=sample_regions.tolist().count))
    reviewed_regions = rating.assign(centroids, embed_cached(embedder, [e.text for e in baseline], cache))
    in_region = [e for e, r in zip(baseline, reviewed_regions) if r == biggest]
    dropped = set(id(e) for e in in_region[: int(0.9 * len(in_region))])
    skewed = [e for e in baseline if id(e) not in dropped]
    print(f"skewed: region {biggest} holds {sample_regions.tolist().count(biggest)} of {args.sample} "
          f"sampled comments; {len(dropped)} of its {len(in_region)} reviewed comments dropped")
    run("skewed", skewed, names, sample_texts, embedder, cache)

    target = names[0]
    kept, starved = 0, []
    for e in baseline:
        if target in e.assigned:
            kept += 1
            if kept > 3:
                continue
        starved.append(e)
    _, _, under = run("starved", starved, names, sample_texts, embedder, cache)
    listed = next((u for u in under if u["name"] == target), None)
    print(f"starved: '{target}' cut to 3 examples -> listed as {listed}")


if __name__ == "__main__":
    main()
