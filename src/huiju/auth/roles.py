"""The four roles and the actor (who is acting) that every service function receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from huiju.i18n import N_, gettext


class Role(StrEnum):
    OPERATOR = "operator"  # 平台运营方 (大数据局)
    STEWARD = "steward"  # 部门数据管理员
    DEPT_USER = "dept_user"  # 使用部门用户
    PUBLIC = "public"  # 公众、开发者、企业

    @property
    def label(self) -> str:
        return gettext(ROLE_LABELS[self])

    @property
    def department_scoped(self) -> bool:
        return self in (Role.STEWARD, Role.DEPT_USER)


ROLE_LABELS = {
    Role.OPERATOR: N_("Platform operator"),
    Role.STEWARD: N_("Department data steward"),
    Role.DEPT_USER: N_("Department user"),
    Role.PUBLIC: N_("Public user"),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user (by session or token), the local system (CLI), or an anonymous visitor."""

    user_id: int | None
    username: str
    roles: frozenset[tuple[Role, int | None]] = frozenset()
    scopes: frozenset[str] | None = None  # set when acting through a scoped API token
    kind: str = "user"  # user | system | anonymous
    display_name: str = field(default="", compare=False)

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        """The local administrator running the CLI on the platform's own machine."""
        return cls(user_id=None, username=name, roles=frozenset({(Role.OPERATOR, None)}), kind="system")

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(user_id=None, username="anonymous", kind="anonymous")

    @property
    def is_authenticated(self) -> bool:
        return self.kind != "anonymous"

    def has_role(self, role: Role) -> bool:
        return any(r == role for r, _ in self.roles)

    def departments(self, *roles: Role) -> set[int]:
        """Departments in which the actor holds any of ``roles`` (all department roles if none given)."""
        wanted = set(roles) or {Role.STEWARD, Role.DEPT_USER}
        return {d for r, d in self.roles if r in wanted and d is not None}

    @property
    def primary_role(self) -> Role:
        for role in (Role.OPERATOR, Role.STEWARD, Role.DEPT_USER, Role.PUBLIC):
            if self.has_role(role):
                return role
        return Role.PUBLIC
