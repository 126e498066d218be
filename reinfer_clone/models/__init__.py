"""SQLAlchemy tables, grouped by aggregate. Importing this registers them all."""
from ..db import Base
from .annotations import Annotation
from .attachments import AttachmentFile
from .datasets import Dataset, DatasetSource, LabelDef, LabelfModel, LabelGroup
from .projects import Project
from .sources import Bucket, Comment, Source
from .streams import Stream, StreamArrival, StreamCounter, StreamException
from .training import CachedEmbedding, ModelTag, ModelVersion, StoredPrediction, TrainingJob
from .users import ApiToken, GlobalPermission, ProjectPermission, User

__all__ = [
    "Base",
    "Annotation",
    "ApiToken",
    "AttachmentFile",
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
    "Source",
    "StoredPrediction",
    "Stream",
    "StreamArrival",
    "StreamCounter",
    "StreamException",
    "TrainingJob",
    "User",
]
