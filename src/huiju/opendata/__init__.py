"""Open data (开放): opening catalog entries, the public portal, the CKAN-compatible API, DCAT and sitemap."""
