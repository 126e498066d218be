"""SQLAlchemy tables, grouped by aggregate. Importing this registers them all."""
from ..db import Base
from .annotations import Annotation
from .attachments import AttachmentFile
from .audit import AuditEvent
from .datasets import Dataset, DatasetSource, LabelDef, LabelfModel, LabelGroup
from .projects import Project
from .quotas import Quota
from .sources import Bucket, Comment, Source
from .streams import Stream, StreamArrival, StreamCounter, StreamException
from .training import CachedEmbedding, ModelTag, ModelVersion, StoredPrediction, TrainingJob
from .users import ApiToken, GlobalPermission, ProjectPermission, User

__all__ = [
    "Base",
    "Annotation",
    "ApiToken",
    "AttachmentFile",
    "AuditEvent",
    "CachedEmbedding",
    "Bucket",
    "Comment",
    "Dataset",
    "DatasetSource",
    "GlobalPermission",
    "LabelDef",
    "LabelfModel",
    "LabelGroup",
    "ModelTag",
    "ModelVersion",
    "Project",
    "ProjectPermission",
    "Quota",
    "Source",
    "StoredPrediction",
    "Stream",
    "StreamArrival",
    "StreamCounter",
    "StreamException",
    "TrainingJob",
    "User",
]
