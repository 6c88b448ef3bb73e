"""The server freezes its warmed start-up heap, so full garbage collections stop rescanning it."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from huiju.app import create_app
from huiju.catalog import search


def test_lifespan_freezes_the_warm_heap(settings, storage):
    gc.unfreeze()
    app = create_app(settings.model_copy(update={"freeze_heap": True}), storage)
    try:
        with TestClient(app) as client:
            assert gc.get_freeze_count() > 10_000  # modules, the app, the jieba dictionary
            assert search._tokenizer is not None  # loaded before the first search, not by it
            assert client.get("/api/3/action/status_show").json()["success"] is True
    finally:
        gc.unfreeze()


def test_freezing_can_be_turned_off(settings, storage):
    gc.unfreeze()
    with TestClient(create_app(settings.model_copy(update={"freeze_heap": False}), storage)):
        assert gc.get_freeze_count() == 0
