"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import re

PASSWORD = "correct-horse-42"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    """Log in through the real form, CSRF token included."""
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                       "next": "/"}, follow_redirects=False)
