"""`huiju share …` and `huiju trace`: thin callers of share.service; ``--as USER`` acts as that user."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from huiju.auth import service as auth_service
from huiju.auth.roles import Actor
from huiju.i18n import gettext as _
from huiju.share import receipts, service
from huiju.share.filters import describe
from huiju.share.workflow import OBJECTION_LABELS, STATE_LABELS, State
from huiju.storage.uow import UnitOfWork

CLI_ACTOR = Actor.system("cli")
AS_HELP = "Act as this user (default: the local system)."


def _actor(uow: UnitOfWork, username: str | None) -> Actor:
    if not username:
        return CLI_ACTOR
    return auth_service.actor_for_user(auth_service.user_by_username(uow, CLI_ACTOR, username))


def _json_list(text: str | None, what: str) -> list[Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, list):
        raise typer.BadParameter(_("%(what)s must be a JSON list") % {"what": what})
    return value


def _masks(pairs: list[str]) -> dict[str, str] | None:
    out = {}
    for pair in pairs:
        field, sep, rule = pair.partition("=")
        if not sep:
            raise typer.BadParameter(_("Masks are given as FIELD=MASK"))
        out[field.strip()] = rule.strip()
    return out or None


def register(app: typer.Typer, storage_for: Callable[[typer.Context], Any], console: Console) -> None:
    share = typer.Typer(help="Sharing between departments (共享交换): requests, grants, delivery, receipts.",
                        no_args_is_help=True)
    app.add_typer(share, name="share")

    def show(req: Any) -> None:
        console.print(_("Request %(id)s: %(state)s") % {"id": req.id, "state": _(STATE_LABELS[State(req.state)])})

    @share.command("request")
    def request(ctx: typer.Context, entry_id: int,
                as_: str = typer.Option(..., "--as", help="The asking user."),
                purpose: str = typer.Option(..., help="使用用途"), scenario: str = typer.Option(..., help="应用场景"),
                fields: str = typer.Option(..., help="Comma-separated fields."),
                filter_: str = typer.Option(None, "--filter", help='JSON list, e.g. [{"field":"区划","op":"=",'
                                                                    '"value":"990101"}]'),
                days: int = typer.Option(365, help="How long the data is needed."),
                mode: str = typer.Option("api", help="api | download | subscription")) -> None:
        """Ask for a catalog entry's data."""
        with storage_for(ctx).uow() as uow:
            req = service.submit_request(uow, _actor(uow, as_), entry_id=entry_id, purpose=purpose,
                                         scenario=scenario, fields=fields.split(","),
                                         row_filter=_json_list(filter_, "--filter"), duration_days=days,
                                         delivery_mode=mode)
            show(req)

    @share.command("requests")
    def requests(ctx: typer.Context, box: str = typer.Option("all", help="mine | inbox | all"),
                 as_: str = typer.Option(None, "--as", help=AS_HELP)) -> None:
        """List share requests with their reply deadlines."""
        with storage_for(ctx).uow() as uow:
            actor = _actor(uow, as_)
            table = Table("#", _("Entry"), _("State"), _("Deadline (UTC)"), _("Working days left"), _("Purpose"))
            for r in service.list_requests(uow, actor, box=box):
                left = service.workdays_left(uow, actor, r.id)
                table.add_row(str(r.id), r.entry_name, _(STATE_LABELS[State(r.state)]),
                              r.deadline_at.strftime("%Y-%m-%d %H:%M") if r.deadline_at else "—",
                              "—" if left is None else str(left), r.purpose)
        console.print(table)

    @share.command("show")
    def show_request(ctx: typer.Context, request_id: int, as_: str = typer.Option(None, "--as", help=AS_HELP)) -> None:
        """A request and its thread."""
        with storage_for(ctx).uow() as uow:
            actor = _actor(uow, as_)
            req = service.get_request(uow, actor, request_id)
            show(req)
            console.print(_("Fields: %(f)s; rows: %(r)s") % {"f": ", ".join(req.fields), "r": describe(req.row_filter)})
            for e in service.request_log(uow, actor, request_id):
                console.print(f"  {e.created_at:%Y-%m-%d %H:%M} {e.actor_name} {e.kind} {e.step or ''} "
                              f"{e.to_state or ''} {e.text or ''}")

    @share.command("step")
    def step(ctx: typer.Context, request_id: int, name: str,
             as_: str = typer.Option(None, "--as", help=AS_HELP), reason: str = typer.Option("", help="Reason."),
             fields: str = typer.Option(None, help="Approving in part: comma-separated fields granted."),
             filter_: str = typer.Option(None, "--filter", help="Approving in part: JSON list of added conditions."),
             mask: list[str] = typer.Option([], help="Approving in part: FIELD=MASK (repeatable)."),
             max_calls: int = typer.Option(None, help="Call quota."),
             max_rows: int = typer.Option(None, help="Row quota.")) -> None:
        """Move a request: clear, refuse, approve, approve_in_part, reject, negotiate, escalate, rule_*, withdraw."""
        with storage_for(ctx).uow() as uow:
            req = service.take_step(uow, _actor(uow, as_), request_id, name, reason=reason,
                                    fields=fields.split(",") if fields else None,
                                    extra_filter=_json_list(filter_, "--filter"), masks=_masks(mask),
                                    max_calls=max_calls, max_rows=max_rows)
            show(req)

    @share.command("approve")
    def approve(ctx: typer.Context, request_id: int, as_: str = typer.Option(None, "--as", help=AS_HELP)) -> None:
        """Approve a request as asked."""
        with storage_for(ctx).uow() as uow:
            show(service.take_step(uow, _actor(uow, as_), request_id, "approve"))

    @share.command("reject")
    def reject(ctx: typer.Context, request_id: int, reason: str = typer.Option(..., help="Why (required)."),
               as_: str = typer.Option(None, "--as", help=AS_HELP)) -> None:
        """Reject a request with a reason."""
        with storage_for(ctx).uow() as uow:
            show(service.take_step(uow, _actor(uow, as_), request_id, "reject", reason=reason))

    @share.command("check-deadlines")
    def check_deadlines(ctx: typer.Context,
                        now: str = typer.Option(None, help="Pretend it is this ISO time (UTC if no zone).")) -> None:
        """Send reply reminders and escalate overdue requests (run periodically)."""
        when = datetime.fromisoformat(now) if now else None
        if when is not None and when.tzinfo is None:
            from datetime import UTC

            when = when.replace(tzinfo=UTC)
        with storage_for(ctx).uow() as uow:
            report = service.check_deadlines(uow, CLI_ACTOR, when)
        console.print(_("Reminded: %(r)s; escalated as overdue: %(o)s") % {
            "r": ", ".join(map(str, report.reminded)) or "—", "o": ", ".join(map(str, report.overdue)) or "—"})

    @share.command("grants")
    def grants(ctx: typer.Context, as_: str = typer.Option(None, "--as", help=AS_HELP)) -> None:
        """List grants."""
        with storage_for(ctx).uow() as uow:
            table = Table("#", _("Dataset"), _("Fields"), _("Rows"), _("Masks"), _("State"), _("Expires (UTC)"),
                          _("Calls"))
            for g in service.list_grants(uow, _actor(uow, as_)):
                table.add_row(str(g.id), g.dataset_key, ", ".join(g.fields), describe(g.row_filter),
                              ", ".join(f"{k}:{v}" for k, v in g.masks.items()) or "—", g.state,
                              f"{g.expires_at:%Y-%m-%d}", str(g.calls_used))
        console.print(table)

    def grant_change(verb: str) -> None:
        @share.command(verb)
        def change(ctx: typer.Context, grant_id: int, reason: str = typer.Option("", help="Reason."),
                   days: int = typer.Option(None, help="renew: new lifetime in days from now."),
                   as_: str = typer.Option(None, "--as", help=AS_HELP)) -> None:
            with storage_for(ctx).uow() as uow:
                actor = _actor(uow, as_)
                if verb == "renew":
                    g = service.renew_grant(uow, actor, grant_id, days=days or 365, reason=reason)
                else:
                    g = getattr(service, f"{verb}_grant")(uow, actor, grant_id, reason=reason)
            console.print(_("Grant %(id)s: %(state)s, expires %(at)s") % {"id": g.id, "state": g.state,
                                                                        "at": f"{g.expires_at:%Y-%m-%d}"})

        change.__doc__ = {"renew": "Extend a grant.", "suspend": "Suspend a grant.", "resume": "Resume a grant.",
                          "revoke": "Revoke a grant and its tokens."}[verb]

    for verb in ("renew", "suspend", "resume", "revoke"):
        grant_change(verb)

    @share.command("token")
    def token(ctx: typer.Context, grant_id: int, as_: str = typer.Option(..., "--as", help="The receiving user."),
              days: int = typer.Option(None, help="Lifetime (at most the grant's).")) -> None:
        """Issue an API token that reads this grant only (shown once)."""
        with storage_for(ctx).uow() as uow:
            issued = service.issue_grant_token(uow, _actor(uow, as_), grant_id, days=days)
        console.print(issued.plaintext, soft_wrap=True)

    @share.command("read")
    def read(ctx: typer.Context, grant_id: int, as_: str = typer.Option(..., "--as", help="The receiving user."),
             fmt: str = typer.Option("json", "--format", help="json | csv | parquet"),
             limit: int = typer.Option(1000, help="Rows in the page."),
             after: str = typer.Option(None, help="JSON next_after of the previous page."),
             out: Path = typer.Option(..., help="Write the body here."),
             receipt_out: Path = typer.Option(None, "--receipt", help="Write the receipt (JSON) here.")) -> None:
        """Read one page under a grant into a file, with its signed receipt."""
        with storage_for(ctx).uow() as uow:
            d = service.deliver_rows(uow, _actor(uow, as_), grant_id, fmt=fmt, limit=limit,
                                     after=_json_list(after, "--after"), request={"cli": "read"})
        _write(d, out, receipt_out)

    @share.command("download")
    def download(ctx: typer.Context, grant_id: int, as_: str = typer.Option(..., "--as", help="The receiving user."),
                 fmt: str = typer.Option("csv", "--format", help="csv | parquet"),
                 out: Path = typer.Option(..., help="Write the file here."),
                 receipt_out: Path = typer.Option(None, "--receipt", help="Write the receipt (JSON) here.")) -> None:
        """Download the grant's whole current version, watermarked for the recipient."""
        with storage_for(ctx).uow() as uow:
            d = service.download_grant(uow, _actor(uow, as_), grant_id, fmt=fmt, request={"cli": "download"})
        _write(d, out, receipt_out)

    def _write(d: service.Delivered, out: Path, receipt_out: Path | None) -> None:
        out.write_bytes(d.body)
        target = receipt_out or out.with_name(out.name + ".receipt.json")
        target.write_text(json.dumps(d.receipt.as_dict(), ensure_ascii=False, indent=1))
        console.print(_("%(rows)s rows written to %(out)s; receipt in %(receipt)s") % {
            "rows": d.rows, "out": out, "receipt": target})

    @share.command("push")
    def push(ctx: typer.Context) -> None:
        """Push new versions to subscribers' webhooks, retrying failures with backoff (run periodically)."""
        with storage_for(ctx).uow() as uow:
            report = service.push_subscriptions(uow, CLI_ACTOR)
        console.print(_("Pushed: %(d)s; to retry: %(r)s; given up: %(f)s") % {
            "d": len(report.delivered), "r": len(report.retrying), "f": len(report.failed)})

    @share.command("changes")
    def changes(ctx: typer.Context, grant_id: int, since: int = typer.Option(..., help="Version already held."),
                as_: str = typer.Option(..., "--as", help="The receiving user."),
                out: Path = typer.Option(..., help="Write the body here."),
                receipt_out: Path = typer.Option(None, "--receipt", help="Write the receipt (JSON) here.")) -> None:
        """Rows new or changed since a version (and removed keys), with a signed receipt."""
        with storage_for(ctx).uow() as uow:
            d = service.changes_since(uow, _actor(uow, as_), grant_id, since, request={"cli": "changes"})
        _write(d, out, receipt_out)

    @share.command("flag")
    def flag(ctx: typer.Context, grant_id: int, as_: str = typer.Option(..., "--as", help="The reporting user."),
             field: str = typer.Option(..., help="The field whose value is believed wrong."),
             key: str = typer.Option(..., help="The record's key value, as delivered."),
             seen: str = typer.Option(None, help="The value delivered."),
             suggested: str = typer.Option(None, help="The value believed right."),
             reason: str = typer.Option(..., help="Why the value is believed wrong.")) -> None:
        """疑义纠错: flag a delivered value; the providing department gets a correction task."""
        with storage_for(ctx).uow() as uow:
            obj = service.report_objection(uow, _actor(uow, as_), grant_id, record_key=key, field=field,
                                           reported_value=seen, suggested_value=suggested, note=reason)
        console.print(_("Report %(id)s sent to the providing department.") % {"id": obj.id})

    @share.command("corrections")
    def corrections(ctx: typer.Context, box: str = typer.Option("all", help="inbox (on our data) | mine | all"),
                    status: str = typer.Option("open", help="open | corrected | confirmed_correct | rejected | any"),
                    as_: str = typer.Option(None, "--as", help=AS_HELP)) -> None:
        """List 疑义 reports: correction tasks on our data, or values we flagged, with their outcomes."""
        with storage_for(ctx).uow() as uow:
            table = Table("#", _("Grant"), _("Dataset"), _("Field"), _("Record key"), _("Value seen"),
                          _("Suggested value"), _("Reason"), _("Status"), _("Outcome"))
            for o in service.list_objections(uow, _actor(uow, as_), status=None if status == "any" else status,
                                             box=box):
                table.add_row(str(o.id), str(o.grant_id), o.dataset_key, o.field, o.record_key,
                              o.reported_value or "—", o.suggested_value or "—", o.note,
                              _(OBJECTION_LABELS.get(o.status, o.status)), o.outcome_note or "—")
        console.print(table)

    @share.command("resolve-correction")
    def resolve_correction(ctx: typer.Context, objection_id: int,
                           outcome: str = typer.Option(..., help="corrected | confirmed_correct | rejected"),
                           note: str = typer.Option(..., help="What was done, or why not."),
                           as_: str = typer.Option(None, "--as", help=AS_HELP)) -> None:
        """Record the outcome of a correction task on our data."""
        with storage_for(ctx).uow() as uow:
            obj = service.resolve_objection(uow, _actor(uow, as_), objection_id, outcome=outcome, note=note)
        console.print(_("Report %(id)s: %(status)s") % {"id": obj.id,
                                                        "status": _(OBJECTION_LABELS.get(obj.status, obj.status))})

    @share.command("public-key")
    def public_key(ctx: typer.Context) -> None:
        """Print the platform's receipt-signing public keys (hex), for offline verification."""
        with storage_for(ctx).uow() as uow:
            keys = service.receipt_public_keys(uow)
        if not keys:
            console.print(_("No receipt has been signed yet."))
        for k in keys:
            console.print(k["public_key_hex"], soft_wrap=True)

    @share.command("verify-receipt")
    def verify_receipt(receipt_file: Path = typer.Argument(..., help="The receipt (JSON or header value)."),
                       body: Path = typer.Option(None, help="The body the receipt is for."),
                       public_key: str = typer.Option(..., help="The platform's public key: hex, or a file.")) -> None:
        """Check a receipt offline: the SM2 signature and, if given, the body's SM3 hash."""
        key_text = Path(public_key).read_text().strip() if Path(public_key).is_file() else public_key.strip()
        receipt = receipts.Receipt.parse(receipt_file.read_text())
        problems = receipts.verify(receipt, body.read_bytes() if body else None, key_text)
        if problems:
            for p in problems:
                console.print(f"[red]{p}[/red]")
            raise typer.Exit(1)
        console.print(_("Receipt of call %(call)s (grant %(grant)s, %(time)s) is genuine.") % {
            "call": receipt.call_id, "grant": receipt.grant_id, "time": receipt.time})

    @app.command("trace")
    def trace(ctx: typer.Context, file: Path) -> None:
        """Name the share grant a leaked extract came from (watermarks and per-grant pseudonyms)."""
        with storage_for(ctx).uow() as uow:
            found = service.trace_leak(uow, CLI_ACTOR, file.read_bytes(), file.name)
        if not found:
            console.print(_("No grant could be identified in this file."))
            raise typer.Exit(1)
        for hit in found:
            console.print(_("Grant %(grant)s (department %(dept)s, purpose %(purpose)s): %(how)s") % hit)
