"""The web shell: dependencies, error envelope, pages, templates and static files."""
