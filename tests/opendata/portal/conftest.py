"""Portal fixtures: the app over the test storage, a fake real-name service, and an identity provider."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from huiju.app import create_app
from tests.opendata.portal.oidc_provider import FakeIdP
from tests.opendata.portal.support import FakeRealName


@pytest.fixture
def realname() -> FakeRealName:
    return FakeRealName()


@pytest.fixture
def idp():
    provider = FakeIdP()
    stop = provider.serve()
    yield provider
    stop()


@pytest.fixture
def app(settings, storage, realname):
    application = create_app(settings, storage)
    application.state.realname_provider = realname
    return application


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c
