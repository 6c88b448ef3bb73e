"""The ``huiju`` command: init, serve, demo, db, and each context's sub-commands."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from huiju.config import Settings
from huiju.errors import HuijuError
from huiju.i18n import gettext as _

console = Console()
app = typer.Typer(help="huiju 汇聚 — government big-data platform.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="Metadata database.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def settings_from(ctx: typer.Context) -> Settings:
    return ctx.obj["settings"]


@app.callback()
def _root(ctx: typer.Context,
          home: Annotated[Path | None, typer.Option(help="Platform home folder (default $HUIJU_HOME or ~/.huiju).")] = None,
          ) -> None:
    if home is not None:
        os.environ["HUIJU_HOME"] = str(home)
    ctx.obj = {"settings": Settings()}


def fail(message: str) -> None:
    console.print(f"[red]{message}[/red]")
    raise typer.Exit(1)


def open_storage(settings: Settings):
    """Open the platform's storage, refusing a database that migrations have not brought up to date."""
    from huiju.storage.migrate import current_revision
    from huiju.storage.uow import Storage

    missing_file = settings.is_sqlite and not (settings.home / "huiju.db").exists() and not settings.database_url
    storage = None if missing_file else Storage.open(settings)
    if storage is None or current_revision(storage.engine) is None:
        fail(_("No platform database here (%(url)s). Run `huiju init` first.") % {"url": settings.db_url})
    return storage


def initialise(settings: Settings) -> None:
    """Create the home folder, run the migrations and prepare the lake (idempotent)."""
    from huiju.storage.lake import Lake
    from huiju.storage.migrate import upgrade

    settings.home.mkdir(parents=True, exist_ok=True)
    with console.status(_("Running database migrations…")):
        upgrade(settings.db_url)
    Lake(settings.lake_path).ensure()
    settings.signing_key()


@app.command()
def init(ctx: typer.Context,
         admin: Annotated[str | None, typer.Option(help="Create a platform operator with this username.")] = None,
         password: Annotated[str | None, typer.Option(help="Password for --admin (prompted if omitted).")] = None,
         ) -> None:
    """Create (or upgrade) a platform home: database, lake, secret key, optional first operator."""
    settings = settings_from(ctx)
    initialise(settings)
    console.print(_("Platform home ready: %(home)s") % {"home": settings.home})
    if admin:
        from huiju.auth import service
        from huiju.auth.roles import Actor, Role

        if password is None:
            password = typer.prompt(_("Password"), hide_input=True, confirmation_prompt=True)
        storage = open_storage(settings)
        with storage.uow() as uow:
            service.create_user(uow, Actor.system("cli"), username=admin, display_name=admin,
                                password=password, role=Role.OPERATOR)
        console.print(_("Operator %(name)s created.") % {"name": admin})


@app.command()
def serve(ctx: typer.Context,
          host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
          port: Annotated[int | None, typer.Option(help="Listen port.")] = None) -> None:
    """Serve the web pages and the API."""
    settings = settings_from(ctx)
    storage = open_storage(settings)
    run_server(settings, storage, host or settings.host, port or settings.port)


def run_server(settings: Settings, storage, host: str, port: int) -> None:
    """Serve with ``HUIJU_WORKERS`` job-runner threads beside the web server."""
    import uvicorn

    from huiju.app import create_app
    from huiju.jobs import start_threads

    stop, threads = start_threads(storage, settings.workers)
    console.print(_("huiju is serving at http://%(host)s:%(port)s/") % {"host": host, "port": port})
    try:
        uvicorn.run(create_app(settings, storage), host=host, port=port, log_level="info")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)


@app.command()
def worker(ctx: typer.Context,
           once: Annotated[bool, typer.Option("--once", help="Run the jobs that are due now, then exit.")] = False,
           ) -> None:
    """Run queued and scheduled jobs (beside or instead of the threads inside `huiju serve`)."""
    import signal
    import threading

    from huiju.jobs import Worker

    storage = open_storage(settings_from(ctx))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runner = Worker(storage, stop=stop)
    if once:
        done = runner.drain()
        console.print(_("Jobs run: %(n)s") % {"n": len(done)})
        return
    console.print(_("Worker started; Ctrl-C stops it after the current job."))
    try:
        runner.run()
    except KeyboardInterrupt:
        stop.set()


@app.command()
def demo(ctx: typer.Context,
         scale: Annotated[str, typer.Option(help="small | medium | large")] = "medium",
         seed: Annotated[int, typer.Option(help="Generator seed (same seed, same city).")] = 2026,
         host: Annotated[str, typer.Option(help="Listen address.")] = "127.0.0.1",
         port: Annotated[int, typer.Option(help="Listen port.")] = 8000,
         serve_: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve after loading.")] = True,
         ) -> None:
    """Create a fresh demo home for the city 示例市, load it and serve it."""
    from huiju.demo.loader import load_demo, prepare_home

    settings = settings_from(ctx)
    if "HUIJU_HOME" not in os.environ:
        settings = Settings(home=Path("huiju-demo"))
    if scale not in ("small", "medium", "large"):
        fail(_("Scale must be small, medium or large"))
    prepare_home(settings)
    initialise(settings)
    storage = open_storage(settings)
    summary = load_demo(storage, scale=scale, seed=seed, console=console)
    summary.print(console, host, port)
    if serve_:
        run_server(settings, storage, host, port)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from huiju.storage.migrate import upgrade

    settings = settings_from(ctx)
    settings.home.mkdir(parents=True, exist_ok=True)
    with console.status(_("Running database migrations…")):
        upgrade(settings.db_url, revision)
    console.print(_("Database is at revision %(rev)s.") % {"rev": revision})


def _register_contexts() -> None:
    from huiju.auth.cli import register as register_auth
    from huiju.catalog.cli import register as register_catalog
    from huiju.catalog.protection.cli import register as register_protection
    from huiju.ingest.authority.cli import register as register_authority
    from huiju.ingest.cli import register as register_ingest
    from huiju.opendata.cli import register as register_opendata
    from huiju.opendata.portal.cli import register as register_portal
    from huiju.security.cli import register as register_security
    from huiju.share.cli import register as register_share

    def storage_for(ctx: typer.Context):
        return open_storage(settings_from(ctx))

    register_auth(app, storage_for, console)
    register_security(app, storage_for, console)
    register_catalog(app, storage_for, console)
    register_protection(app, storage_for, console)
    register_ingest(app, storage_for, console)
    register_authority(app, storage_for, console)
    register_share(app, storage_for, console)
    register_opendata(app, storage_for, console)
    register_portal(app, storage_for, console)


_register_contexts()


def main() -> None:
    try:
        app()
    except HuijuError as exc:
        console.print(f"[red]{exc.localized()}[/red]")
        raise SystemExit(1) from None
