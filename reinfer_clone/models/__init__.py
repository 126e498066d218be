"""SQLAlchemy tables, grouped by aggregate. Importing this registers them all."""
from ..db import Base
from .annotations import Annotation
from .datasets import Dataset, DatasetSource, LabelDef, LabelfModel, LabelGroup
from .projects import Project
from .sources import Bucket, Comment, Source
from .users import ApiToken, GlobalPermission, ProjectPermission, User

__all__ = [
    "Base",
    "Annotation",
    "ApiToken",
    "Bucket",
    "Comment",
    "Dataset",
    "DatasetSource",
    "GlobalPermission",
    "LabelDef",
    "LabelfModel",
    "LabelGroup",
    "Project",
    "ProjectPermission",
    "Source",
    "User",
]
