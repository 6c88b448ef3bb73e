"""Catalog fixtures: the app over the test storage (as in tests/web)."""

from __future__ import annotations

import pytest

from huiju.app import create_app


@pytest.fixture
def app(settings, storage):
    return create_app(settings, storage)
