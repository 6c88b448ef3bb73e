"""`huiju dept`, `huiju user` and `huiju token`: thin callers of auth.service, acting as the local system."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from huiju.auth import service
from huiju.auth.roles import Actor, Role
from huiju.i18n import gettext as _

CLI_ACTOR = Actor.system("cli")


def register(app: typer.Typer, storage_for: Callable[[typer.Context], Any], console: Console) -> None:
    dept = typer.Typer(help="Departments (部门).", no_args_is_help=True)
    user = typer.Typer(help="Users and roles.", no_args_is_help=True)
    token = typer.Typer(help="API tokens.", no_args_is_help=True)
    app.add_typer(dept, name="dept")
    app.add_typer(user, name="user")
    app.add_typer(token, name="token")

    @dept.command("add")
    def dept_add(ctx: typer.Context, code: str, name: str,
                 level: Annotated[str, typer.Option(help="province | city | county")] = "city",
                 region: Annotated[str, typer.Option(help="GB/T 2260 region code")] = "990100",
                 parent: Annotated[str | None, typer.Option(help="Parent department code")] = None) -> None:
        """Add a department."""
        with storage_for(ctx).uow() as uow:
            d = service.create_department(uow, CLI_ACTOR, code=code, name=name, level=level,
                                          region_code=region, parent_code=parent)
        console.print(_("Department %(code)s added (id %(id)s).") % {"code": d.code, "id": d.id})

    @dept.command("list")
    def dept_list(ctx: typer.Context) -> None:
        """List departments."""
        with storage_for(ctx).uow() as uow:
            rows = service.list_departments(uow, CLI_ACTOR)
            table = Table(_("Code"), _("Name"), _("Level"), _("Region code"))
            for d in rows:
                table.add_row(d.code, d.name, _(d.level), d.region_code)
        console.print(table)

    @user.command("add")
    def user_add(ctx: typer.Context, username: str,
                 role: Annotated[Role, typer.Option(help="operator | steward | dept_user | public")],
                 dept_code: Annotated[str | None, typer.Option("--dept", help="Department code")] = None,
                 name: Annotated[str, typer.Option(help="Display name")] = "",
                 password: Annotated[str | None, typer.Option(help="Password (prompted if omitted)")] = None) -> None:
        """Add a user with one role."""
        if password is None:
            password = typer.prompt(_("Password"), hide_input=True, confirmation_prompt=True)
        with storage_for(ctx).uow() as uow:
            u = service.create_user(uow, CLI_ACTOR, username=username, display_name=name, password=password,
                                    role=role, department_code=dept_code)
        console.print(_("User %(name)s added (id %(id)s).") % {"name": u.username, "id": u.id})

    @user.command("list")
    def user_list(ctx: typer.Context) -> None:
        """List users and their roles."""
        with storage_for(ctx).uow() as uow:
            table = Table("ID", _("Username"), _("Name"), _("Roles"))
            for u in service.list_users(uow, CLI_ACTOR):
                roles = ", ".join(f"{Role(m.role).label}@{m.department.code}" if m.department else Role(m.role).label for m in u.memberships)
                table.add_row(str(u.id), u.username, u.display_name, roles)
        console.print(table)

    @token.command("create")
    def token_create(ctx: typer.Context, username: str,
                     scope: Annotated[list[str], typer.Option(help="Action or prefix.*; repeatable; * for all")],
                     name: Annotated[str, typer.Option(help="A label for the token")] = "",
                     days: Annotated[int | None, typer.Option(help="Days valid")] = None) -> None:
        """Issue an API token for USERNAME; it is printed once."""
        with storage_for(ctx).uow() as uow:
            target = service.user_by_username(uow, CLI_ACTOR, username)
            issued = service.create_token(uow, CLI_ACTOR, name=name, scopes=scope, user_id=target.id, days=days)
        console.print(_("Token %(id)s for %(user)s, expires %(when)s. Shown once:") % {
            "id": issued.token.id, "user": username, "when": issued.token.expires_at.date()})
        print(issued.plaintext)

    @token.command("revoke")
    def token_revoke(ctx: typer.Context, token_id: int) -> None:
        """Revoke a token by id."""
        with storage_for(ctx).uow() as uow:
            service.revoke_token(uow, CLI_ACTOR, token_id)
        console.print(_("Token %(id)s revoked.") % {"id": token_id})
