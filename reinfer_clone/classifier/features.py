"""Sparse lexical features: TF-IDF of word 1-2-grams and of char 2-5-grams.

They catch the exact wording (product names, "PIN", "top up") that a small
sentence embedding blurs. The vocabularies and idf weights are plain arrays so
that a model is stored without pickling sklearn objects.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

# Long emails add little past their opening and would make char n-grams slow.
MAX_CHARS = 10_000
# Caps the coefficient matrix (features x labels) of big datasets.
MAX_FEATURES = 60_000
# ... and of many-label models: features x labels at most this (128 MB of
# float32 coefficients, which a server process keeps for each cached model
# version). 10,000 labels at 60,000 features took 2.4 GB. Below 559 labels
# (banking77's 77 among them) the feature cap alone applies.
MAX_COEFFICIENTS = 2 ** 25


def feature_budget(label_count: int) -> int:
    """The most TF-IDF features a model of `label_count` labels may keep."""
    return min(MAX_FEATURES, max(2, MAX_COEFFICIENTS // max(1, label_count)))

BLOCKS = {
    "word": {"analyzer": "word", "ngram_range": (1, 2)},
    "char": {"analyzer": "char_wb", "ngram_range": (2, 5)},
}


def _counter(block: str, **kwargs) -> CountVectorizer:
    return CountVectorizer(lowercase=True, dtype=np.float32, **BLOCKS[block], **kwargs)


def _clip(texts: list[str]) -> list[str]:
    return [t[:MAX_CHARS] for t in texts]


class TextFeatures:
    def __init__(self, vocabularies: dict[str, list[str]], idfs: dict[str, np.ndarray]):
        self.vocabularies = vocabularies
        self.idfs = {k: np.asarray(v, dtype=np.float32) for k, v in idfs.items()}
        self._counters = {
            block: _counter(block, vocabulary=vocab)
            for block, vocab in vocabularies.items() if vocab
        }
        # CountVectorizer builds its term index on first use; do it now, not
        # racily in whichever request thread predicts first.
        for counter in self._counters.values():
            counter.transform([""])

    @property
    def size(self) -> int:
        return sum(len(v) for v in self.vocabularies.values())

    @classmethod
    def fit(cls, texts: list[str], blocks=tuple(BLOCKS), max_features: int = MAX_FEATURES
            ) -> tuple[TextFeatures, sparse.csr_matrix]:
        """`blocks`: the n-gram blocks to learn; the others stay empty.
        `max_features`: the most terms kept, half per block (most frequent first)."""
        texts = _clip(texts)
        vocabularies, idfs, counts = {}, {}, {}
        for block in BLOCKS:
            if block not in blocks:
                vocabularies[block], idfs[block] = [], np.zeros(0, np.float32)
                continue
            # Rare char n-grams are mostly typos; dropping them only pays off with volume.
            min_df = 2 if block == "char" and len(texts) >= 200 else 1
            counter = _counter(block, min_df=min_df, max_features=max(1, max_features // 2))
            try:
                matrix = sparse.csr_matrix(counter.fit_transform(texts))
            except ValueError:  # empty vocabulary: no texts, or nothing but punctuation
                vocabularies[block], idfs[block] = [], np.zeros(0, np.float32)
                continue
            terms = [None] * len(counter.vocabulary_)
            for term, column in counter.vocabulary_.items():
                terms[column] = term
            df = np.bincount(matrix.indices, minlength=len(terms))
            vocabularies[block] = terms
            # sklearn's smooth idf.
            idfs[block] = (np.log((1 + len(texts)) / (1 + df)) + 1).astype(np.float32)
            counts[block] = matrix
        features = cls(vocabularies, idfs)
        return features, features._weigh(counts, len(texts))

    def transform(self, texts: list[str]) -> sparse.csr_matrix:
        texts = _clip(texts)
        counts = {block: sparse.csr_matrix(counter.transform(texts))
                  for block, counter in self._counters.items()}
        return self._weigh(counts, len(texts))

    def _weigh(self, counts: dict, n: int) -> sparse.csr_matrix:
        """Sublinear tf x idf, each block L2-normalised, then scaled so a row has norm 1."""
        blocks = []
        for block in BLOCKS:
            if not self.vocabularies[block]:
                continue
            matrix = counts[block].astype(np.float32)
            matrix.data = 1.0 + np.log(matrix.data)
            matrix = matrix @ sparse.diags(self.idfs[block])
            norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
            matrix = sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ matrix
            blocks.append(matrix)
        if not blocks:
            return sparse.csr_matrix((n, 0), dtype=np.float32)
        out = sparse.hstack(blocks, format="csr", dtype=np.float32)
        return out * np.float32(1 / np.sqrt(len(blocks)))
