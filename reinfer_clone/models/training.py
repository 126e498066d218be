"""Training jobs, the immutable model versions they produce, tags that point at
versions, cached embeddings and stored predictions."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column

from ..db import Base, BigIntPK, HexId, UTCDateTime, new_id, utcnow

JOB_STATUSES = ("queued", "running", "succeeded", "failed")


class TrainingJob(Base):
    __tablename__ = "training_jobs"
    # Workers poll for the oldest due job.
    __table_args__ = (Index("ix_training_jobs_status_due", "status", "not_before"),)

    id: Mapped[str] = mapped_column(HexId(), primary_key=True, default=new_id)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    # "requested" (the train route) or "labelling" (scheduled by annotation changes).
    reason: Mapped[str] = mapped_column(String(32), default="requested")
    # Debounce: a labelling-triggered job waits until labelling has been quiet for a while.
    not_before: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Renewed while running; a job whose heartbeat stops is given to another worker.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    worker: Mapped[str | None] = mapped_column(String(256), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    model_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Timings and sizes, for the job status route.
    stats: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    job_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Labels the model scores, full " > " paths, and the number of reviewed comments it saw.
    label_names: Mapped[list] = mapped_column(JSON, default=list)
    reviewed_size: Mapped[int] = mapped_column(Integer, default=0)
    # Held-out metrics: per-label precision/recall/AP, PR curves, auto thresholds, rating.
    # Deferred: hundreds of kB of JSON that finding the latest version (every
    # prediction and export page does) need not decode.
    validation: Mapped[dict] = mapped_column(JSON, default=dict, deferred=True)
    # Centroids of the data's regions (rating factor "balance"), unit vectors in
    # the embedding space; null for versions trained before regions existed.
    regions: Mapped[list | None] = mapped_column(JSON, nullable=True, deferred=True)
    # The trained classifier; deferred so listing versions never loads megabytes.
    artifact: Mapped[bytes] = deferred(mapped_column(LargeBinary))


class ModelTag(Base):
    __tablename__ = "model_tags"

    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(256), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CachedEmbedding(Base):
    """Sentence embeddings by sha256(embedding model id + text), shared by all
    datasets, so a retrain embeds only text it has not seen."""

    __tablename__ = "embeddings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class StoredPrediction(Base):
    """Predictions of one model version for one comment, computed after training
    for the dataset's comments and on first read for newer ones."""

    __tablename__ = "predictions"
    __table_args__ = (Index("ix_predictions_comment", "comment_pk"),)

    model_pk: Mapped[int] = mapped_column(
        ForeignKey("model_versions.pk", ondelete="CASCADE"), primary_key=True
    )
    comment_pk: Mapped[int] = mapped_column(
        ForeignKey("comments.pk", ondelete="CASCADE"), primary_key=True
    )
    # [{"name": "A > B", "probability": p, "sentiment": s?}], hierarchy rule applied,
    # sorted by descending probability.
    labels: Mapped[list] = mapped_column(JSON, default=list)
    # The comment's region under the version's `regions` (the rebalance queue).
    region: Mapped[int | None] = mapped_column(Integer, nullable=True)
