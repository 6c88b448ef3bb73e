"""`huiju audit verify|list|checkpoint|export|verify-export` and `huiju keys list|rotate|rewrap`.

Thin callers of security.service, acting as the local system; `verify-export` alone needs no
platform home (it is what an external auditor runs on the exported file).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from huiju.auth.roles import Actor
from huiju.errors import Invalid
from huiju.i18n import N_
from huiju.i18n import gettext as _
from huiju.security import keys, service
from huiju.security.audit import ChainReport, verify_export

CLI_ACTOR = Actor.system("cli")
KEY_KINDS = {"data": N_("data key"), "signing": N_("signing key")}


def register(app: typer.Typer, storage_for: Callable[[typer.Context], Any], console: Console) -> None:
    audit = typer.Typer(help="The SM3 audit chain.", no_args_is_help=True)
    app.add_typer(audit, name="audit")
    keys_app = typer.Typer(help="The key hierarchy: master, data and signing keys.", no_args_is_help=True)
    app.add_typer(keys_app, name="keys")

    def report_or_exit(report: ChainReport) -> None:
        if report.ok:
            console.print(_("Chain intact: %(n)s entries checked.") % {"n": report.checked})
            console.print(_("%(n)s signed checkpoints verified; entries up to %(seq)s are covered by a signature.")
                          % {"n": report.checkpoints_checked, "seq": report.signed_seq})
            for fp in report.signer_fingerprints:
                console.print(_("Signed by the key with SM3 fingerprint %(fp)s") % {"fp": fp})
            return
        where = _("entry %(seq)s") % {"seq": report.broken_seq}
        if report.broken_id is not None:
            where += f" (id {report.broken_id})"
        if report.broken_checkpoint_id is not None:
            where = _("checkpoint %(id)s at %(where)s") % {"id": report.broken_checkpoint_id, "where": where}
        message = _("Chain broken at %(where)s: %(reason)s") % {"where": where, "reason": _(report.reason)}
        console.print(f"[red]{message}[/red]")
        raise typer.Exit(1)

    @audit.command("verify")
    def verify(ctx: typer.Context) -> None:
        """Check every link and checkpoint; exit 1 and name the first broken one if the chain was tampered with."""
        with storage_for(ctx).uow() as uow, console.status(_("Verifying the audit chain…")):
            report = service.verify_audit(uow, CLI_ACTOR)
        report_or_exit(report)

    @audit.command("checkpoint")
    def checkpoint(ctx: typer.Context) -> None:
        """Sign the chain head now with the platform's SM2 key."""
        with storage_for(ctx).uow() as uow, console.status(_("Signing an audit checkpoint…")):
            cp = service.create_checkpoint(uow, CLI_ACTOR)
        console.print(_("Checkpoint %(id)s signed at entry %(seq)s (key fingerprint %(fp)s).")
                      % {"id": cp.id, "seq": cp.seq, "fp": keys.fingerprint(cp.public_key_hex)})

    @audit.command("export")
    def export(ctx: typer.Context, file: Annotated[Path, typer.Argument(help="The JSON Lines file to write")]) -> None:
        """Export every entry, checkpoint and public key for an external auditor (JSON Lines)."""
        with storage_for(ctx).uow() as uow, console.status(_("Exporting the audit chain…")):
            summary = service.export_audit(uow, CLI_ACTOR, file)
        console.print(_("Exported %(entries)s entries and %(checkpoints)s checkpoints to %(path)s.")
                      % {"entries": summary.entries, "checkpoints": summary.checkpoints, "path": summary.path})
        for fp in summary.fingerprints:
            console.print(_("Public key SM3 fingerprint: %(fp)s") % {"fp": fp})

    @audit.command("verify-export")
    def verify_export_(
        file: Annotated[Path, typer.Argument(help="An export written by `huiju audit export`")],
        public_key: Annotated[list[str] | None, typer.Option(
            help="Trust only this SM2 public key (hex); repeatable. Default: the keys listed in the file")] = None,
    ) -> None:
        """Verify an export with nothing but the file: no database, no master key."""
        if not file.is_file():
            raise Invalid("File %(path)s not found", path=str(file))
        with console.status(_("Verifying the audit export…")):
            report = verify_export(file, trusted_keys=public_key or None)
        report_or_exit(report)

    @audit.command("list")
    def list_(ctx: typer.Context, limit: Annotated[int, typer.Option(help="How many, newest first")] = 20) -> None:
        """Show the newest audit entries."""
        with storage_for(ctx).uow() as uow:
            table = Table("#", _("Time (UTC)"), _("Actor"), _("Event"), _("Details"))
            for e in service.list_audit(uow, CLI_ACTOR, limit=limit):
                table.add_row(str(e.seq), e.occurred_at.strftime("%Y-%m-%d %H:%M:%S"), e.actor_name, e.event_type, e.payload)
        console.print(table)

    @keys_app.command("list")
    def keys_list(ctx: typer.Context) -> None:
        """List data and signing key versions (never key material)."""
        with storage_for(ctx).uow() as uow:
            table = Table(_("Kind"), _("Purpose"), _("Version"), _("Created (UTC)"), _("Retired (UTC)"),
                          _("Public key fingerprint"))
            for k in service.list_keys(uow, CLI_ACTOR):
                table.add_row(_(KEY_KINDS[k.kind]), k.purpose, str(k.version), k.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                              k.retired_at.strftime("%Y-%m-%d %H:%M:%S") if k.retired_at else "",
                              k.fingerprint[:32])
        console.print(table)

    @keys_app.command("rotate")
    def keys_rotate(ctx: typer.Context, purpose: Annotated[str, typer.Argument(
            help="dataset:NAME or another data-key purpose, or audit-signing")]) -> None:
        """Start a new version of a key; old versions are retired but stay usable for reading and verifying."""
        with storage_for(ctx).uow() as uow, console.status(_("Rotating key %(purpose)s…") % {"purpose": purpose}):
            if purpose in keys.SIGNING_PURPOSES:
                row = service.rotate_signing_key(uow, CLI_ACTOR, purpose)
                done = _("Signing key %(purpose)s replaced; new public key fingerprint %(fp)s.") % {
                    "purpose": row.purpose, "fp": keys.fingerprint(row.public_key_hex)}
            else:
                data = service.rotate_data_key(uow, CLI_ACTOR, purpose)
                done = _("Data key %(purpose)s is now at version %(version)s.") % {
                    "purpose": data.purpose, "version": data.version}
        console.print(done)

    @keys_app.command("rewrap")
    def keys_rewrap(ctx: typer.Context, new_master_file: Annotated[Path | None, typer.Option(
            help="File holding the new master key as 64 hex digits; default: generate one "
                 "(only when the master key lives in home/master.key)")] = None) -> None:
        """Move to a new master key: re-wrap every data and signing key under it."""
        settings = ctx.obj["settings"]
        if new_master_file is not None:
            if not new_master_file.is_file():
                raise Invalid("File %(path)s not found", path=str(new_master_file))
            try:
                new_master = bytes.fromhex(new_master_file.read_text().strip())
            except ValueError:
                new_master = b""
        elif settings.master_key:
            raise Invalid("The master key comes from HUIJU_MASTER_KEY: put the new one in a file and pass "
                          "--new-master-file")
        else:
            new_master = secrets.token_bytes(keys.MASTER_KEY_BYTES)
        with storage_for(ctx).uow() as uow, console.status(_("Re-wrapping keys under the new master key…")):
            result = service.rewrap_all(uow, CLI_ACTOR, new_master)
        console.print(_("Re-wrapped %(data)s data keys and %(signing)s signing keys.")
                      % {"data": result.data_keys, "signing": result.signing_keys})
        if result.master_file is not None:
            console.print(_("The new master key is in %(path)s.") % {"path": result.master_file})
        else:
            console.print(_("Set HUIJU_MASTER_KEY to the new key in %(path)s before the platform next starts.")
                          % {"path": new_master_file})
