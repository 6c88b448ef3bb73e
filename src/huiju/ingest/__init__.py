"""Data aggregation (汇聚): connectors, validation, quarantine, versions, 一数一源, base libraries."""
