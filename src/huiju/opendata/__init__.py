"""Open data (开放): opening review, the public portal, the CKAN-compatible API, conditional open, interaction."""
