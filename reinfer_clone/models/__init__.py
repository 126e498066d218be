"""SQLAlchemy tables, grouped by aggregate. Importing this registers them all."""
from ..db import Base
from .attachments import AttachmentFile
from .audit import AuditEvent
from .datasets import Dataset, DatasetSource, LabelDef, LabelfModel, LabelGroup
from .buckets import Bucket
from .comments import Comment
from .labellings import Labelling
from .projects import Project
from .quotas import Quota
from .sources import Source
from .streams import Stream, StreamArrival, StreamCounter, StreamException
from .training import CachedEmbedding, ModelTag, ModelVersion, StoredPrediction, TrainingJob
from .users import ApiToken, GlobalPermission, ProjectPermission, User

__all__ = [
    "Base",
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
    "Labelling",
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
