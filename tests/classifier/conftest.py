"""Fixtures for the classifier tests: one embedding model for the whole run,
and small synthetic labelled data (no database, no HTTP)."""
from __future__ import annotations

import random

import pytest

from reinfer_clone.classifier import Example, get_embedder, split_of

# Two parents, two children each; each child has its own vocabulary.
PHRASES = {
    "Billing > Refund": ["a refund", "my money back", "to be reimbursed", "a refund of the charge"],
    "Billing > Invoice": ["a copy of the invoice", "the invoice number", "a receipt for the bill",
                          "an itemised invoice"],
    "Delivery > Late": ["my parcel is late", "the package has not arrived yet",
                        "the delivery is overdue", "the courier never came"],
    "Delivery > Damaged": ["the box arrived broken", "the item came damaged",
                           "the parcel was smashed", "the screen arrived cracked"],
}
OPENERS = ["Hello,", "Hi team,", "Good morning,", "Dear support,", "Hey,", ""]
MIDDLES = ["I would like", "please send", "I need", "can you help with", "about", "regarding"]
CLOSERS = ["thanks", "thank you", "cheers", "regards", "please help", ""]


def sentence(rng: random.Random, label: str) -> str:
    return " ".join(filter(None, [rng.choice(OPENERS), rng.choice(MIDDLES),
                                  rng.choice(PHRASES[label]), rng.choice(CLOSERS)]))


def make_examples(per_label: int = 15, seed: int = 0, prefix: str = "c") -> list[Example]:
    rng = random.Random(seed)
    out = []
    for label in sorted(PHRASES):
        for _ in range(per_label):
            out.append(Example(uid=f"{prefix}{len(out)}", text=sentence(rng, label),
                               assigned={label: None}))
    return out


@pytest.fixture(scope="session")
def embedder():
    return get_embedder()


@pytest.fixture(scope="session")
def examples():
    examples = make_examples()
    assert {split_of(e.uid) for e in examples} == {"train", "test"}
    return examples


@pytest.fixture(scope="session")
def trained(examples, embedder):
    """(model, validation) on the synthetic data; label_names leave out the
    parents (implied) and include one label nobody used."""
    from reinfer_clone.classifier import train

    return train(examples, sorted(PHRASES) + ["Unused"], embedder, has_sentiment=False)
