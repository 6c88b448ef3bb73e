"""huiju (汇聚): an open government big-data platform."""

__version__ = "0.1.0"
