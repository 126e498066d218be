"""Training: targets from annotations, the two linear models, validation.

Hyper-parameters are fixed values chosen by 4-fold cross-validation on the
banking77 *training* set (see docs/classifier.md); the test set was not used
to choose them.
"""
from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from .embedding import EmbeddingCache, embed_cached
from .features import TextFeatures, feature_budget
from .model import SENTIMENT_NONE, SENTIMENT_OWN, LabelModel
from .taxonomy import ancestors, is_under, with_ancestors
from .validation import Validation, label_validation, split_of, summarise

SPARSE_C = 1.0        # LinearSVC (squared hinge) on TF-IDF
DENSE_C = 30.0        # one-vs-rest logistic regression on the embedding, sklearn's C
DENSE_MAX_ITER = 200
# The final model starts from the validation model's solution (80 % of its data):
# on banking77 50 more iterations matched 200 from scratch.
WARM_MAX_ITER = 60
TOLERANCE = 1e-7
SENTIMENT_C = 10.0
MIN_SENTIMENT_EACH = 3
# Used when the held-out split is too small to fit the calibration.
DEFAULT_PLATT = (2.0, 0.0)
MIN_PLATT_POSITIVES = 5
MAX_PLATT_PAIRS = 200_000


@dataclass
class Example:
    uid: str
    text: str
    assigned: dict[str, str | None]
    dismissed: set[str] = field(default_factory=set)
    # True: a negative for every label not assigned, even with none assigned
    # ("none of these"). A comment with an assigned label always is.
    reviewed: bool = False


def _note(progress, message: str) -> None:
    if progress is not None:
        progress(message)


# -- targets -------------------------------------------------------------------

def targets(examples: list[Example], labels: list[str]):
    """Y[i, j]: label j applies to comment i (assigned, or a descendant is).
    M[i, j]: comment i counts for label j. A comment with any assigned label
    (or marked reviewed) counts for every label: it is fully labelled;
    otherwise only for the labels it dismissed, and their descendants.
    Z[i, j]: sentiment +1 / -1 of label j on comment i, 0 when none (an implied
    parent takes the majority sign of its assigned descendants)."""
    index = {name: j for j, name in enumerate(labels)}
    n, count = len(examples), len(labels)
    Y = np.zeros((n, count), dtype=bool)
    M = np.zeros((n, count), dtype=bool)
    Z = np.zeros((n, count), dtype=np.int8)
    for i, example in enumerate(examples):
        for name in example.dismissed:
            M[i, [j for j, label in enumerate(labels) if is_under(label, name)]] = True
        if example.assigned or example.reviewed:
            M[i] = True
        votes: dict[int, int] = {}
        for name, sentiment in example.assigned.items():
            sign = {"positive": 1, "negative": -1}.get(sentiment, 0)
            if name in index:
                Y[i, index[name]] = True
                if sign:
                    Z[i, index[name]] = sign
            for up in ancestors(name):
                if up in index:
                    Y[i, index[up]] = True
                    if sign and up not in example.assigned:
                        votes[index[up]] = votes.get(index[up], 0) + sign
        for j, total in votes.items():
            if Z[i, j] == 0:
                Z[i, j] = np.sign(total)
    M |= Y  # an assigned label counts even when a dismissal says otherwise
    return Y, M, Z


# -- the two linear models -----------------------------------------------------------

def _disjoint_buckets(Y: np.ndarray, columns: list[int]) -> list[list[int]]:
    """Groups of labels no comment shares. liblinear's one-vs-rest multiclass
    fit of such a group (plus a 'none of them' class) trains exactly the
    binary label-vs-rest problems, with one data conversion for all of them."""
    buckets: list[tuple[list[int], np.ndarray]] = []
    for j in sorted(columns, key=lambda j: -int(Y[:, j].sum())):
        for members, used in buckets:
            if not (used & Y[:, j]).any():
                members.append(j)
                used |= Y[:, j]
                break
        else:
            buckets.append(([j], Y[:, j].copy()))
    return [members for members, _ in buckets]


def _fit_sparse(X, Y, M, modelled, seed):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    coef = np.zeros((X.shape[1], Y.shape[1]), dtype=np.float32)
    intercept = np.zeros(Y.shape[1], dtype=np.float32)
    if X.shape[1] == 0:
        return coef, intercept
    # Labels that count on the same comments share one row selection.
    by_mask: dict[bytes, list[int]] = {}
    for j in np.nonzero(modelled)[0]:
        by_mask.setdefault(np.packbits(M[:, j]).tobytes(), []).append(int(j))
    for columns in by_mask.values():
        rows = np.nonzero(M[:, columns[0]])[0]
        Xr, Yr = X[rows], Y[rows]
        for bucket in _disjoint_buckets(Yr, columns):
            y = np.full(len(rows), -1)
            for k, j in enumerate(bucket):
                y[Yr[:, j]] = k
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                svc = LinearSVC(C=SPARSE_C, dual=True, random_state=seed).fit(Xr, y)
            classes = list(svc.classes_)
            if len(classes) == 2:  # one binary problem, scored for classes[1]
                pairs = [(classes[1], 1.0)] + ([(classes[0], -1.0)] if classes[0] >= 0 else [])
                for k, sign in pairs:
                    coef[:, bucket[k]] = sign * svc.coef_[0]
                    intercept[bucket[k]] = sign * svc.intercept_[0]
            else:
                for row, k in enumerate(classes):
                    if k >= 0:
                        coef[:, bucket[k]] = svc.coef_[row]
                        intercept[bucket[k]] = svc.intercept_[row]
    return coef, intercept


def _fit_dense(E, Y, M, modelled, init=None):
    """One-vs-rest logistic regression for all labels at once (L-BFGS); the
    loss of label j only over the comments that count for it."""
    import torch

    D, count = E.shape[1], Y.shape[1]
    coef = np.zeros((D, count), dtype=np.float32)
    intercept = np.zeros(count, dtype=np.float32)
    columns = np.nonzero(modelled)[0]
    if len(columns) == 0 or len(E) == 0:
        return coef, intercept
    # Whitened coordinates: the same objective (W = P @ V, the bias absorbs the
    # mean), but well conditioned, so L-BFGS needs a fraction of the iterations.
    # (torch, not numpy, for the linear algebra: numpy's OpenBLAS eigh took 2 s
    # instead of 0.03 s on a busy 2-core machine.)
    E64 = torch.from_numpy(np.asarray(E, dtype=np.float64))
    mean = E64.mean(dim=0)
    centred = E64 - mean
    covariance = centred.T @ centred / max(len(E) - 1, 1)
    variance, basis = torch.linalg.eigh(covariance)
    root = variance.clamp(min=1e-6).sqrt()
    P = (basis / root).float()
    P_inv = (basis * root).T.float()  # basis is orthonormal
    X = (centred.float() @ P)
    mean = mean.float().numpy()
    P, P_inv = P.numpy(), P_inv.numpy()
    T = torch.from_numpy(Y[:, columns].astype(np.float32))
    weight = torch.from_numpy(M[:, columns].astype(np.float32))
    Pt = torch.from_numpy(P)
    n = len(E)
    if init is not None:
        V0 = P_inv @ init[0][:, columns]
        b0 = init[1][columns] + mean @ init[0][:, columns]
    else:
        V0 = np.zeros((D, len(columns)), dtype=np.float32)
        b0 = np.zeros(len(columns), dtype=np.float32)
    V = torch.tensor(np.ascontiguousarray(V0, dtype=np.float32), requires_grad=True)
    b = torch.tensor(np.ascontiguousarray(b0, dtype=np.float32), requires_grad=True)
    l2 = 1.0 / (DENSE_C * n)  # sklearn's C with the loss averaged over comments
    optimizer = torch.optim.LBFGS([V, b], lr=1, history_size=20,
                                  max_iter=DENSE_MAX_ITER if init is None else WARM_MAX_ITER,
                                  line_search_fn="strong_wolfe",
                                  tolerance_grad=1e-6, tolerance_change=TOLERANCE)

    def closure():
        optimizer.zero_grad()
        W = Pt @ V
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            X @ V + b, T, weight=weight, reduction="sum") / n + 0.5 * l2 * (W * W).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    W = (Pt @ V).detach().numpy()
    coef[:, columns] = W
    intercept[columns] = b.detach().numpy() - mean @ W
    return coef, intercept


def dense_weight(Y: np.ndarray, M: np.ndarray) -> float:
    """Weight of the embedding model's logit in the sum of scores. The fewer
    examples per label, the more the pretrained embedding should count against
    n-grams learnt from scratch: cross-validation on banking77 train samples
    preferred 1.0 at 8 positives per label, anything in 0.25-1.0 at 24 (flat),
    0.2-0.3 at ~100."""
    positives = (Y & M).sum(axis=0)
    positives = positives[positives > 0]
    if len(positives) == 0:
        return 1.0
    return float(np.clip(np.sqrt(10.0 / np.median(positives)), 0.25, 1.0))


def _fit_parts(texts, E, Y, M, seed, lexical, init=None):
    n_pos = (Y & M).sum(axis=0)
    n_neg = (~Y & M).sum(axis=0)
    modelled = (n_pos > 0) & (n_neg > 0)
    # Without both classes the best guess is the frequency (0 with no positives),
    # shrunk so that "every comment so far" does not read as certainty.
    constant = np.where(modelled, np.nan, n_pos / (n_pos + n_neg + 1.0))
    features, X = TextFeatures.fit(texts, lexical, max_features=feature_budget(Y.shape[1]))
    # liblinear releases the GIL: the SVMs train while torch fits the embedding model.
    with ThreadPoolExecutor(max_workers=1) as pool:
        sparse_job = pool.submit(_fit_sparse, X, Y, M, modelled, seed)
        dense = _fit_dense(E, Y, M, modelled, init)
        sparse = sparse_job.result()
    return {"features": features, "sparse": sparse, "dense": dense, "constant": constant}


def _fit_sentiment(E, Z, examples, has_sentiment):
    from sklearn.linear_model import LogisticRegression

    D, count = E.shape[1], Z.shape[1]
    kind = np.full(count, SENTIMENT_NONE, dtype=np.int8)
    coef = np.zeros((D, count), dtype=np.float32)
    intercept = np.zeros(count, dtype=np.float32)
    global_model = None
    if not has_sentiment:
        return kind, coef, intercept, global_model

    def fit(rows, positive):
        if min(positive.sum(), (~positive).sum()) < MIN_SENTIMENT_EACH:
            return None
        model = LogisticRegression(C=SENTIMENT_C, max_iter=1000).fit(E[rows], positive)
        return model.coef_[0], model.intercept_[0]

    for j in range(count):
        rows = np.nonzero(Z[:, j])[0]
        fitted = fit(rows, Z[rows, j] > 0)
        if fitted is not None:
            kind[j], coef[:, j], intercept[j] = SENTIMENT_OWN, fitted[0], fitted[1]
    # Dataset-wide: the overall tone of each comment's explicitly assigned labels.
    overall = np.array([
        np.sign(sum({"positive": 1, "negative": -1}.get(s, 0) for s in e.assigned.values()))
        for e in examples], dtype=np.int8)
    rows = np.nonzero(overall)[0]
    fitted = fit(rows, overall[rows] > 0)
    if fitted is not None:
        global_model = np.r_[fitted[0], fitted[1]].astype(np.float32)
    return kind, coef, intercept, global_model


def _fit_platt(scores, Y, M, modelled, seed) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    use = M & modelled[None, :]
    s, y = scores[use], Y[use]
    if y.sum() < MIN_PLATT_POSITIVES or (~y).sum() < MIN_PLATT_POSITIVES:
        return DEFAULT_PLATT
    if len(s) > MAX_PLATT_PAIRS:
        keep = np.random.default_rng(seed).choice(len(s), MAX_PLATT_PAIRS, replace=False)
        s, y = s[keep], y[keep]
    # Platt's smoothed targets instead of 0/1: a small or separable held-out
    # set must not produce a near-vertical sigmoid.
    positives, negatives = int(y.sum()), int((~y).sum())
    target = np.where(y, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    fit = LogisticRegression(C=1e4, max_iter=1000).fit(
        np.r_[s, s].reshape(-1, 1), np.r_[np.ones(len(s)), np.zeros(len(s))],
        sample_weight=np.r_[target, 1 - target])
    a, b = float(fit.coef_[0, 0]), float(fit.intercept_[0])
    if not (np.isfinite(a) and np.isfinite(b)) or a <= 0:
        return DEFAULT_PLATT
    return a, b


def _model(parts, *, labels, embedder, has_sentiment, thresholds, platt, sentiment,
           weight) -> LabelModel:
    kind, s_coef, s_intercept, s_global = sentiment
    return LabelModel(
        labels=labels, embedding_model_id=embedder.model_id, has_sentiment=has_sentiment,
        thresholds=thresholds, features=parts["features"],
        sparse_coef=parts["sparse"][0], sparse_intercept=parts["sparse"][1],
        dense_coef=parts["dense"][0], dense_intercept=parts["dense"][1],
        dense_weight=weight, platt=platt, constant=parts["constant"],
        sentiment_kind=kind, sentiment_coef=s_coef, sentiment_intercept=s_intercept,
        global_sentiment=s_global)


def train(examples: list[Example], label_names: list[str], embedder, *,
          has_sentiment: bool, cache: EmbeddingCache | None = None, seed: int = 0,
          lexical: tuple[str, ...] = ("word", "char"),
          progress: Callable[[str], None] | None = None) -> tuple[LabelModel, Validation]:
    """The final model (all examples) and its validation (a model trained on
    the "train" uids, scored on the "test" uids). Never raises on small or
    degenerate data: labels that cannot be modelled get a constant probability.
    `lexical`: the n-gram blocks added to the embedding (none: embedding only)."""
    started = time.perf_counter()
    labels = with_ancestors(label_names)
    Y, M, Z = targets(examples, labels)
    counts = M.any(axis=1)
    examples = [e for e, keep in zip(examples, counts) if keep]
    Y, M, Z = Y[counts], M[counts], Z[counts]
    texts = [e.text for e in examples]

    _note(progress, f"embedding {len(texts)} comments")
    E = embed_cached(embedder, texts, cache)

    # One weight for both models, so the calibration and thresholds learnt on
    # the validation model's scores carry over to the final model.
    # Without n-grams the embedding's logit is the whole score.
    weight = dense_weight(Y, M) if lexical else 1.0
    held_out = np.array([split_of(e.uid) == "test" for e in examples], dtype=bool)
    fit_rows, test_rows = np.nonzero(~held_out)[0], np.nonzero(held_out)[0]
    _note(progress, f"validation model: {len(fit_rows)} train, {len(test_rows)} test comments")
    val_parts = _fit_parts([texts[i] for i in fit_rows], E[fit_rows], Y[fit_rows],
                           M[fit_rows], seed, lexical)
    no_sentiment = _fit_sentiment(E[:0], Z[:0], [], False)
    val_model = _model(val_parts, labels=labels, embedder=embedder, has_sentiment=False,
                       thresholds={}, platt=DEFAULT_PLATT, sentiment=no_sentiment, weight=weight)
    scores = val_model.scores([texts[i] for i in test_rows], E[test_rows])
    Yt, Mt = Y[test_rows], M[test_rows]
    platt = _fit_platt(scores, Yt, Mt, np.isnan(val_parts["constant"]), seed)
    val_model.platt = platt
    P = val_model.calibrate(scores)
    per_label = [label_validation(name, Yt[Mt[:, j], j], P[Mt[:, j], j])
                 for j, name in enumerate(labels)]
    validation = summarise(per_label, train_size=len(fit_rows), test_size=len(test_rows))
    thresholds = {lv.name: dict(lv.auto_thresholds) for lv in per_label}

    _note(progress, f"final model: {len(texts)} comments")
    parts = _fit_parts(texts, E, Y, M, seed, lexical, init=val_parts["dense"])
    sentiment = _fit_sentiment(E, Z, examples, has_sentiment)
    model = _model(parts, labels=labels, embedder=embedder, has_sentiment=has_sentiment,
                   thresholds=thresholds, platt=platt, sentiment=sentiment, weight=weight)
    _note(progress, f"trained in {time.perf_counter() - started:.1f}s")
    return model, validation
