"""`huiju demo`: a fresh home for 示例市 with its departments, accounts and source files."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from huiju.auth import service as auth_service
from huiju.auth.roles import Actor, Role
from huiju.config import Settings
from huiju.demo import city
from huiju.demo.catalog import publish_catalog
from huiju.demo.generator import generate
from huiju.demo.ingest import ingest_sources, register_authorities
from huiju.demo.opening import open_demo_datasets
from huiju.errors import Invalid
from huiju.i18n import gettext as _
from huiju.storage.uow import Storage

MARKER = ".huiju-demo"
DEMO_ACTOR = Actor.system("demo")


def prepare_home(settings: Settings) -> None:
    """Wipe a previous demo home (recognised by its marker file); never touch any other folder."""
    home = settings.home
    if home.exists() and any(home.iterdir()):
        if not (home / MARKER).exists():
            raise Invalid("%(home)s is not empty and is not a demo home; choose another --home", home=str(home))
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    (home / MARKER).write_text("created by `huiju demo`; removed and recreated by the next run\n")


@dataclass
class DemoSummary:
    departments: int
    accounts: list[city.DemoAccount]
    sources: Path
    files: int
    rows: int
    defects: int
    seconds: float
    accepted: int = 0
    quarantined: int = 0
    catalog_entries: int = 0
    opened: dict[str, str] = field(default_factory=dict)  # dataset key → open dataset name
    not_opened: dict[str, str] = field(default_factory=dict)  # dataset key → why the platform refused it

    def print(self, console: Console, host: str, port: int) -> None:
        console.print(_("Demo city loaded in %(s).1f s: %(d)s departments, %(f)s source files, %(r)s rows, "
                        "%(x)s injected defects (manifest: %(m)s).")
                      % {"s": self.seconds, "d": self.departments, "f": self.files, "r": self.rows,
                         "x": self.defects, "m": self.sources / "manifest.json"})
        console.print(_("Loaded through the ingest pipeline: %(ok)s rows accepted, %(bad)s quarantined with reasons.")
                      % {"ok": f"{self.accepted:,}", "bad": f"{self.quarantined:,}"})
        console.print(_("%(n)s catalog entries published (open /catalog).") % {"n": self.catalog_entries})
        console.print(_("%(n)s datasets opened on the portal (open /open; CKAN API at /api/3/action/).")
                      % {"n": len(self.opened)})
        for key, why in self.not_opened.items():
            console.print(_("  %(key)s not opened: %(why)s") % {"key": key, "why": why})
        table = Table(_("Username"), _("Role"), _("Department"), title=_("Demo accounts (password: %(p)s)")
                      % {"p": city.DEMO_PASSWORD})
        for acc in self.accounts:
            table.add_row(acc.username, Role(acc.role).label, acc.department_code or "—")
        console.print(table)
        console.print(_("Open http://%(host)s:%(port)s/login in a browser.") % {"host": host, "port": port})


def load_demo(storage: Storage, *, scale: str, seed: int, console: Console | None = None) -> DemoSummary:
    """Create departments and accounts through the services, then write the departments' source files."""
    started = time.perf_counter()
    console = console or Console(quiet=True)
    accounts = list(city.DEMO_ACCOUNTS)
    sources = storage.settings.home / "sources"
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,}"),
                  TimeElapsedColumn(), console=console, transient=False) as progress:
        task = progress.add_task(_("Departments and accounts"), total=len(city.DEPARTMENTS) + len(accounts))
        for dept in city.DEPARTMENTS:
            with storage.uow() as uow:
                auth_service.create_department(uow, DEMO_ACTOR, code=dept.code, name=dept.name, level=dept.level,
                                               region_code=dept.region_code)
            progress.advance(task)
        for acc in accounts:
            with storage.uow() as uow:
                auth_service.create_user(uow, DEMO_ACTOR, username=acc.username, display_name=acc.display_name,
                                         password=city.DEMO_PASSWORD, role=Role(acc.role),
                                         department_code=acc.department_code)
            progress.advance(task)
        gen_task = progress.add_task(_("Generating source data (%(scale)s)") % {"scale": scale}, total=None)

        def on_progress(step: str, rows: int) -> None:
            progress.update(gen_task, description=_("Generating source data: %(step)s") % {"step": step},
                            advance=rows)

        manifest = generate(sources, scale=scale, seed=seed, progress=on_progress)
        load_task = progress.add_task(_("Loading the sources into the platform"), total=sum(f.rows for f in manifest.files))

        def on_loaded(key: str, rows: int) -> None:
            progress.update(load_task, description=_("Loading the sources into the platform: %(key)s") % {"key": key},
                            advance=rows)

        jobs = ingest_sources(storage, DEMO_ACTOR, sources, progress=on_loaded)
        register_authorities(storage, DEMO_ACTOR)
        catalog_task = progress.add_task(_("Publishing the catalog entries"), total=len(manifest.files))
        entries = publish_catalog(storage, DEMO_ACTOR, manifest.files)
        progress.update(catalog_task, completed=len(manifest.files))
        open_task = progress.add_task(_("Opening datasets on the portal"), total=None)
        opened, refused = open_demo_datasets(storage, DEMO_ACTOR, entries, progress=lambda key: progress.update(
            open_task, description=_("Opening datasets on the portal: %(key)s") % {"key": key}, advance=1))
    return DemoSummary(
        departments=len(city.DEPARTMENTS), accounts=accounts, sources=sources, files=len(manifest.files),
        rows=sum(f.rows for f in manifest.files), defects=len(manifest.defects),
        seconds=time.perf_counter() - started,
        accepted=sum(j.rows_accepted for j in jobs.values()), quarantined=sum(j.rows_rejected for j in jobs.values()),
        catalog_entries=len(entries), opened=opened, not_opened=refused,
    )
