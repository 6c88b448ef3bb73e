"""Metadata database, unit of work and the Parquet lake."""
