"""The lake: immutable dataset versions as folders of Parquet files, read by a pluggable engine."""

from huiju.storage.lake.engine import ArrowFunction, LakeEngine, make_engine
from huiju.storage.lake.files import Lake, StagedVersion
from huiju.storage.lake.models import LakeVersion

__all__ = ["ArrowFunction", "Lake", "LakeEngine", "LakeVersion", "StagedVersion", "make_engine"]
