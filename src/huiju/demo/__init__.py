"""The demo city 示例市: static city data (city.py) and a deterministic generator of its departments' source files."""
