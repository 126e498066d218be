"""Cross-lingual transfer on xSID 0.7 (validation split), in process (no server).

    python bench/crosslingual.py [--family multilingual] [--folds 5] [--lexical word,char]

xSID has the same 300 utterances in English and 12 other languages (ja: the
first 150), with intents such as `alarm/set_alarm` (read as the label
`alarm > set_alarm`). Sentence ids are split into `--folds` folds by id; for
each fold a model is trained on the English sentences of the OTHER folds and
evaluated on this fold's sentences in every language, so a sentence is never
tested in any language when it (or a translation of it) was trained on. Every
sentence is tested once. Top-1 = the most probable of the dataset's intents.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reinfer_clone.classifier import Example, MemoryEmbeddingCache, embed_cached, train  # noqa: E402
from reinfer_clone.classifier.embedding import get_e5_embedder, get_embedder  # noqa: E402
from reinfer_clone.classifier.families import ENGLISH, family  # noqa: E402

XSID = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "xsid-dev"
TARGET_LANGUAGES = ["de", "da", "nl", "it", "id", "tr", "zh", "ja", "ar"]
OTHER_LANGUAGES = ["sr", "kk", "lt"]


def read(language: str) -> dict[int, tuple[str, str]]:
    """id -> (text, label). The English file has no ids: its order is the id."""
    path = XSID / f"{language}.valid.conll"
    if not path.exists():
        sys.exit(f"xSID data not found at {path}; it lives in ../shared/data/xsid-dev")
    out, number, fields = {}, 0, {}
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if line.startswith("# "):
            key, _, value = line[2:].partition(" = ")
            fields[key.strip()] = value.strip()
        elif not line.strip() and fields:
            number += 1
            sentence_id = int(fields.get("id", number))
            out[sentence_id] = (fields["text"], fields["intent"].replace("/", " > "))
            fields = {}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--family", default="multilingual")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--lexical", default=None,
                        help="n-gram blocks to use instead of the family's (comma list, '' for none)")
    args = parser.parse_args()
    chosen = family(args.family)
    lexical = chosen.lexical if args.lexical is None else tuple(b for b in args.lexical.split(",") if b)
    embedder = get_embedder() if chosen.encoder == ENGLISH else get_e5_embedder()
    languages = ["en"] + TARGET_LANGUAGES + OTHER_LANGUAGES
    data = {language: read(language) for language in languages}
    english = data["en"]
    names = sorted({label for _, label in english.values()})

    cache = MemoryEmbeddingCache()
    started = time.perf_counter()
    all_texts = [text for language in languages for text, _ in data[language].values()]
    embed_cached(embedder, all_texts, cache)
    embed_seconds = time.perf_counter() - started
    correct = {language: 0 for language in languages}
    total = {language: 0 for language in languages}
    train_seconds = []
    for fold in range(args.folds):
        examples = [Example(uid=f"en.{i}", text=text, assigned={label: None})
                    for i, (text, label) in english.items() if i % args.folds != fold]
        started = time.perf_counter()
        model, _ = train(examples, names, embedder, has_sentiment=False, cache=cache,
                         lexical=lexical)
        train_seconds.append(time.perf_counter() - started)
        for language in languages:
            test = [(text, label) for i, (text, label) in data[language].items() if i % args.folds == fold]
            if not test:
                continue
            texts = [t for t, _ in test]
            predictions = model.predict(texts, embedder, cache)
            for (_, label), labels in zip(test, predictions):
                best = max((p for p in labels if p.name in names), key=lambda p: p.probability)
                correct[language] += best.name == label
                total[language] += 1
    accuracy = {language: 100.0 * correct[language] / total[language] for language in languages}
    print(f"family {args.family}: encoder {embedder.model_id}, n-grams {list(lexical) or 'none'}")
    print(f"{args.folds} folds; train on English of the other folds; {len(names)} intents")
    for language in languages:
        mark = " (target set)" if language in TARGET_LANGUAGES else ""
        print(f"  {language}: {accuracy[language]:5.1f} % top-1 of {total[language]}{mark}")
    mean = statistics.mean(accuracy[language] for language in TARGET_LANGUAGES)
    worst = min(TARGET_LANGUAGES, key=accuracy.get)
    print(f"English {accuracy['en']:.1f} % (target >= 90); mean of {', '.join(TARGET_LANGUAGES)} "
          f"{mean:.1f} % (target >= 75); lowest {worst} {accuracy[worst]:.1f} % (target >= 65)")
    print(f"embedding {len(all_texts)} texts: {embed_seconds:.1f} s; "
          f"training per fold: {statistics.mean(train_seconds):.2f} s")


if __name__ == "__main__":
    main()
