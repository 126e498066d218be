"""Training jobs: queued in the database, claimed by exactly one worker (a
server process's background thread, `reinfer-clone worker`, or the request
that asked to wait), run, and turned into an immutable model version.

A failed job records why and leaves the previous version serving.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from ..db import Database, utcnow
from ..errors import InvalidInput, NotFound
from ..models import Labelling, Comment, Dataset, ModelVersion, TrainingJob
from ..models.datasets import DEFAULT_GROUP
from ..vocabulary import comment_uid
from . import maintenance, ml, model_versions, predictions

log = logging.getLogger(__name__)

# A running job whose heartbeat is older than this is presumed dead and re-run.
STALE_AFTER = timedelta(seconds=120)
# Comments of the dataset embedded at training time to rate balance and coverage.
POPULATION_SAMPLE = 500
HEARTBEAT_EVERY = 15.0


class TrainingFailed(Exception):
    """A reason to refuse training that is the data's fault, not the code's."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


# --- scheduling -----------------------------------------------------------------------

def _queued_job(session: Session, dataset_id: str) -> TrainingJob | None:
    return session.scalar(
        select(TrainingJob).where(TrainingJob.dataset_id == dataset_id, TrainingJob.status == "queued")
        .order_by(TrainingJob.created_at).limit(1)
    )


def request_training(session: Session, dataset: Dataset) -> TrainingJob:
    """Queue a job due now; a job already queued for the dataset is reused."""
    job = _queued_job(session, dataset.id)
    if job is None:
        job = TrainingJob(dataset_id=dataset.id, reason="requested")
        session.add(job)
    job.not_before = utcnow()
    session.flush()
    return job


def schedule_retrain(session: Session, dataset: Dataset, delay: float) -> TrainingJob | None:
    """After a labelling change: (re)arm one queued job `delay` seconds from now,
    so a burst of labellings trains once. Negative delay: automatic retraining off."""
    if delay < 0:
        return None
    due = utcnow() + timedelta(seconds=delay)
    job = _queued_job(session, dataset.id)
    if job is None:
        job = TrainingJob(dataset_id=dataset.id, reason="labelling", not_before=due)
        session.add(job)
    elif job.reason == "labelling":
        job.not_before = due
    session.flush()
    return job


def get_job(session: Session, dataset: Dataset, job_id: str) -> TrainingJob:
    job = session.get(TrainingJob, job_id)
    if job is None or job.dataset_id != dataset.id:
        raise NotFound(f"Training job '{job_id}' not found.")
    return job


def job_dict(job: TrainingJob) -> dict:
    out = {"id": job.id, "dataset_id": job.dataset_id, "status": job.status, "reason": job.reason,
           "created_at": job.created_at, "not_before": job.not_before}
    for key in ("started_at", "finished_at", "error", "model_version", "stats"):
        value = getattr(job, key)
        if value is not None:
            out[key] = value
    return out


# --- claiming -------------------------------------------------------------------------

def claim(session: Session, worker: str, job_id: str | None = None) -> TrainingJob | None:
    """Take one due job (or the given one) for `worker`; None if there is none.

    The conditional UPDATE is what makes a claim exclusive on both backends;
    on PostgreSQL, SKIP LOCKED also keeps concurrent workers from queueing up
    on the same candidate row.
    """
    now = utcnow()
    stale = now - STALE_AFTER
    other = aliased(TrainingJob)
    # One job per dataset at a time: versions are numbered in order.
    busy = exists().where(other.dataset_id == TrainingJob.dataset_id, other.status == "running",
                          other.heartbeat_at >= stale, other.id != TrainingJob.id)
    claimable = or_(
        and_(TrainingJob.status == "queued", TrainingJob.not_before <= now),
        and_(TrainingJob.status == "running", TrainingJob.heartbeat_at < stale),
    )
    query = select(TrainingJob.id).where(claimable, ~busy).order_by(TrainingJob.not_before).limit(1)
    if job_id is not None:
        query = query.where(TrainingJob.id == job_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=TrainingJob)
    candidate = session.scalar(query)
    if candidate is None:
        session.rollback()
        return None
    taken = session.execute(
        update(TrainingJob).where(TrainingJob.id == candidate, claimable)
        .values(status="running", worker=worker, started_at=now, heartbeat_at=now, error=None)
    ).rowcount
    session.commit()
    return session.get(TrainingJob, candidate, populate_existing=True) if taken == 1 else None


class _Heartbeat:
    """Renews the job's heartbeat from a thread while the (long) training runs."""

    def __init__(self, database: Database, job_id: str):
        self.database, self.job_id = database, job_id
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"heartbeat-{job_id}")

    def _run(self):
        while not self.stop.wait(HEARTBEAT_EVERY):
            try:
                with self.database.session() as session:
                    session.execute(update(TrainingJob).where(TrainingJob.id == self.job_id)
                                    .values(heartbeat_at=utcnow()))
                    session.commit()
            except Exception:  # a missed beat is not fatal; the next one may succeed
                log.exception("heartbeat of job %s failed", self.job_id)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


# --- running --------------------------------------------------------------------------

def examples(session: Session, dataset: Dataset) -> list:
    """Reviewed comments of the dataset's sources, with their default-group labels."""
    classifier, out = ml.classifier(), []
    rows = session.execute(
        select(Labelling.labelling, Comment.source_id, Comment.external_id, Comment.messages)
        .join(Comment, Comment.pk == Labelling.comment_pk)
        .where(Labelling.dataset_id == dataset.id, Labelling.reviewed.is_(True),
               Labelling.source_id.in_(dataset.source_ids))
        .order_by(Labelling.pk)
    )
    for labelling, source_id, external_id, messages in rows:
        group = next((g for g in labelling or [] if g.get("group") == DEFAULT_GROUP), None)
        if group is None or not (group.get("assigned") or group.get("dismissed")):
            continue
        text = classifier.comment_text(messages)
        if not text:
            continue  # no subject or body text (e.g. `messages: []`): nothing to learn from
        out.append(classifier.Example(
            uid=comment_uid(source_id, external_id),
            text=text,
            assigned={label["name"]: label.get("sentiment") for label in group.get("assigned", [])},
            dismissed={label["name"] for label in group.get("dismissed", [])},
        ))
    return out


def _train(session: Session, dataset: Dataset) -> tuple:
    started = time.perf_counter()
    data = examples(session, dataset)
    if not data:
        raise TrainingFailed("The dataset has no reviewed comments with labels to train on.")
    if not any(e.assigned for e in data):
        raise TrainingFailed("No reviewed comment has an assigned label: nothing to learn.")
    label_names = [d.name for d in dataset.label_defs if d.trainable]
    cache = ml.SqlEmbeddingCache(session)
    model, validation = ml.classifier().train(data, label_names, ml.embedder(dataset.model_family),
                                         has_sentiment=dataset.has_sentiment, cache=cache,
                                         lexical=ml.lexical(dataset.model_family))
    regions = _rate(session, dataset, data, model, validation, cache)
    session.commit()  # keep the embeddings even if storing the version fails
    stats = {"examples": len(data), "labels": len(model.labels),
             "train_seconds": round(time.perf_counter() - started, 3)}
    return model, validation, regions, stats


def population_sample(session: Session, dataset: Dataset, size: int = POPULATION_SAMPLE) -> list[str]:
    """Texts of up to `size` comments of the dataset's sources, evenly spread
    over upload order (deterministic, so a retrain on the same data rates the same)."""
    pks = session.scalars(select(Comment.pk).where(Comment.source_id.in_(dataset.source_ids))
                          .order_by(Comment.pk)).all()
    if len(pks) > size:
        step = len(pks) / size
        pks = [pks[int(i * step)] for i in range(size)]
    messages = session.scalars(select(Comment.messages).where(Comment.pk.in_(pks)).order_by(Comment.pk))
    return [ml.classifier().comment_text(m) for m in messages]


def _rate(session: Session, dataset: Dataset, data: list, model, validation, cache) -> list:
    """The rating factors (contract §20) into `validation`, and the rating derived
    from them; returns the regions' centroids, stored with the version."""
    from ..classifier import rating  # ml.classifier() has loaded the package by now

    texts = population_sample(session, dataset)
    return rating.rate(model, validation, data, texts, ml.embedder(dataset.model_family), cache).tolist()


def _store_version(session: Session, job: TrainingJob, dataset: Dataset, model, validation,
                   size: int, regions: list | None = None) -> ModelVersion:
    latest = model_versions.latest_version(session, dataset.id)
    version = ModelVersion(
        dataset_id=dataset.id, version=(latest.version if latest else 0) + 1, job_id=job.id,
        label_names=list(model.labels), reviewed_size=size, validation=validation.to_dict(),
        regions=regions, artifact=model.to_bytes(),
    )
    session.add(version)
    session.flush()
    return version


def run(database: Database, job_id: str, score_dataset: bool = True) -> TrainingJob:
    """Run a job this worker has claimed; returns it finished."""
    with database.session() as session, _Heartbeat(database, job_id):
        job = session.get(TrainingJob, job_id)
        dataset = session.get(Dataset, job.dataset_id)
        try:
            model, validation, regions, stats = _train(session, dataset)
            version = _store_version(session, job, dataset, model, validation, stats["examples"], regions)
            job.status, job.model_version, job.stats = "succeeded", version.version, stats
            job.finished_at = utcnow()
            session.commit()
        except Exception as error:
            session.rollback()
            if not isinstance(error, TrainingFailed):
                log.exception("training job %s failed", job_id)
            job = session.get(TrainingJob, job_id, populate_existing=True)
            job.status, job.finished_at = "failed", utcnow()
            job.error = str(error) if isinstance(error, TrainingFailed) else f"{type(error).__name__}: {error}"
            session.commit()
            return job
        if score_dataset:
            # The version already serves; scoring ahead only makes reads faster.
            started = time.perf_counter()
            try:
                scored = predictions.score_all(session, dataset, version)
                job.stats = {**stats, "scored": scored,
                             "score_seconds": round(time.perf_counter() - started, 3)}
                session.commit()
            except Exception:
                session.rollback()
                log.exception("scoring after job %s failed; predictions will be computed on read", job_id)
        return job


def run_next(database: Database, worker: str | None = None) -> TrainingJob | None:
    """Claim and run one due job; None when there was none."""
    with database.session() as session:
        job = claim(session, worker or worker_name())
    return run(database, job.id) if job else None


def train_and_wait(database: Database, session: Session, dataset: Dataset,
                   timeout: float = 900.0) -> TrainingJob:
    """Queue a job and wait for it: run it here if no worker has taken it yet."""
    job = request_training(session, dataset)
    # The one commit inside a request: the sessions that claim and run the job
    # must see it, so this request's unit of work ends here.
    session.commit()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # Claimed here unless a worker took it, or until another job of the
        # dataset that was running when this one was queued has ended.
        with database.session() as own:
            mine = claim(own, worker_name(), job_id=job.id)
            current = None if mine is not None else own.get(TrainingJob, job.id)
        if mine is not None:
            # The caller reads predictions right away; skip scoring the whole dataset.
            return run(database, job.id, score_dataset=False)
        if current.status in ("succeeded", "failed"):
            return current
        time.sleep(0.5)
    raise InvalidInput(f"Training job '{job.id}' did not finish within {int(timeout)} s; "
                       "poll its status instead.")


# --- the background worker ------------------------------------------------------------

class Worker:
    """Polls for due jobs and runs them, one at a time, until stopped."""

    def __init__(self, database: Database, poll_seconds: float = 2.0, maintenance_seconds: float = 10.0):
        self.database, self.poll_seconds = database, poll_seconds
        self.maintenance_seconds = maintenance_seconds
        self.stopping = threading.Event()
        self.name = worker_name()

    def run_forever(self) -> None:
        next_maintenance = 0.0
        while not self.stopping.is_set():
            if time.monotonic() >= next_maintenance:
                # On its own schedule and its own failures: an ANALYZE that
                # keeps failing must neither run on every poll nor stop training.
                next_maintenance = time.monotonic() + self.maintenance_seconds
                try:
                    maintenance.analyze_stale(self.database)
                except Exception:
                    log.exception("statistics upkeep failed")
            try:
                job = run_next(self.database, self.name)
            except Exception:  # e.g. database briefly unreachable: keep polling
                log.exception("training worker poll failed")
                job = None
            if job is None:
                self.stopping.wait(self.poll_seconds)

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, daemon=True, name="training-worker")
        thread.start()
        return thread
