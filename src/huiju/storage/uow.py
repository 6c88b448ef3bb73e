"""The unit of work: one session, the lake and pending events, committed together."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from huiju.config import Settings
from huiju.errors import NotFound
from huiju.events import Event, subscribers
from huiju.storage.db import make_engine, make_sessionmaker
from huiju.storage.group_commit import GroupCommitter, Write
from huiju.storage.lake import Lake, LakeEngine, LakeVersion, StagedVersion
from huiju.storage.lake import make_engine as make_lake_engine

T = TypeVar("T")

StageHook = Callable[["UnitOfWork", StagedVersion], None]
_stage_hooks: list[StageHook] = []


def on_stage(hook: StageHook) -> StageHook:
    """Register a hook run on every version as it is staged (the catalog installs column encryption here)."""
    if hook not in _stage_hooks:
        _stage_hooks.append(hook)
    return hook


@dataclass
class Storage:
    """Process-wide handles: the database engine, the lake folder and the query engine."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker
    lake: Lake
    lake_engine: LakeEngine
    _group: GroupCommitter | None = field(default=None, init=False, repr=False)
    _group_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def open(cls, settings: Settings) -> Storage:
        engine = make_engine(settings.db_url)
        lake = Lake(settings.lake_path)
        lake_engine = make_lake_engine(settings.lake_engine, settings.lake_page_threads)
        return cls(settings, engine, make_sessionmaker(engine), lake, lake_engine)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self)

    @property
    def group(self) -> GroupCommitter:
        """The group committer of this storage (see storage.group_commit)."""
        with self._group_lock:
            if self._group is None:
                self._group = GroupCommitter(self)
            return self._group

    def close(self) -> None:
        self.engine.dispose()


@dataclass
class PendingEvent:
    actor: Any
    event: Event


@dataclass
class UnitOfWork:
    storage: Storage
    session: Session = field(init=False)
    _events: list[PendingEvent] = field(default_factory=list, init=False)
    _staged: list[StagedVersion] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.session = self.storage.sessions()

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        """Anything not committed is dropped; loaded objects stay readable (close does not expire them)."""
        if exc_type is not None:
            self.rollback()
        self._events = []
        self._discard_staged()
        self.session.close()

    @property
    def settings(self) -> Settings:
        return self.storage.settings

    @property
    def lake(self) -> Lake:
        return self.storage.lake

    def get(self, model: type[T], ident: Any) -> T:
        obj = self.session.get(model, ident)
        if obj is None:
            raise NotFound("%(what)s %(id)s not found", what=model.__name__, id=ident)
        return obj

    def add(self, obj: Any) -> None:
        self.session.add(obj)

    def emit(self, actor: Any, event: Event) -> None:
        self._events.append(PendingEvent(actor, event))

    def stage_version(self, dataset_key: str) -> StagedVersion:
        """Start writing a new version; it is published (renamed and recorded) by ``commit``."""
        staged = self.lake.stage(dataset_key)
        self._staged.append(staged)
        for hook in _stage_hooks:
            hook(self, staged)
        return staged

    def commit(self) -> list[LakeVersion]:
        """Publish staged versions, run event subscribers, commit; undo the renames if the commit fails."""
        published: list[LakeVersion] = []
        moved: list[str] = []
        try:
            for staged in self._staged:
                last = self.session.scalar(
                    select(func.max(LakeVersion.number)).where(LakeVersion.dataset_key == staged.dataset_key)
                )
                number = (last or 0) + 1
                staged.close()
                relpath = self.lake.promote(staged, number)
                moved.append(relpath)
                version = LakeVersion(
                    dataset_key=staged.dataset_key,
                    number=number,
                    path=relpath,
                    files=list(staged.files),
                    row_count=staged.row_count,
                    byte_count=sum((self.lake.abspath(relpath) / f).stat().st_size for f in staged.files),
                    schema=staged.schema_json(),
                )
                self.session.add(version)
                self.session.flush()
                for callback in staged.on_publish:
                    callback(version)
                published.append(version)
            self.session.flush()
            pending, self._events = self._events, []
            for subscriber in subscribers():
                subscriber(self, pending)
            self.session.commit()
        except BaseException:
            self.session.rollback()
            for relpath in moved:
                self.lake.discard(relpath)
            self._discard_staged()
            raise
        self._staged = []
        return published

    def commit_grouped(self, write: Write | None = None) -> Any:
        """Commit this unit's events (and ``write(uow)``) in a transaction shared with other threads' commits.

        For a use case whose only writes are its events and the rows ``write`` adds: this unit's own read
        transaction ends first (committing whatever it flushed, such as a key created on first use). Unflushed
        changes or staged versions make it a plain ``commit`` instead (then ``write`` in a second one).
        """
        session = self.session
        if self._staged or session.new or session.dirty or session.deleted:
            self.commit()
            if write is None:
                return None
            result = write(self)
            self.commit()
            return result
        pending, self._events = self._events, []
        session.commit()  # ends the read snapshot (SQLite: a reader cannot become a writer after others wrote)
        if not pending and write is None:
            return None
        return self.storage.group.submit(pending, write)

    def rollback(self) -> None:
        self.session.rollback()
        self._events = []
        self._discard_staged()

    def _discard_staged(self) -> None:
        for staged in self._staged:
            if staged.dir.exists():
                self.lake.discard(staged.dir.relative_to(self.lake.root))
        self._staged = []
