"""Web fixtures: an app over the test storage and an HTTP client."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from huiju.app import create_app


@pytest.fixture
def app(settings, storage):
    return create_app(settings, storage)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c
