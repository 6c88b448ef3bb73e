"""Actions of the auth context."""

from huiju.auth.authz import Scope, declare
from huiju.auth.roles import Role

ALL = {Role.OPERATOR, Role.STEWARD, Role.DEPT_USER, Role.PUBLIC}
STAFF = {Role.OPERATOR, Role.STEWARD, Role.DEPT_USER}

DEPARTMENT_CREATE = declare("auth.department.create", {Role.OPERATOR}, Scope.PLATFORM, "Add a department")
DEPARTMENT_VIEW = declare("auth.department.view", ALL, Scope.PLATFORM, "List departments")
USER_CREATE = declare("auth.user.create", {Role.OPERATOR, Role.STEWARD}, Scope.DEPARTMENT, "Add a user to a department")
USER_VIEW = declare("auth.user.view", {Role.OPERATOR, Role.STEWARD}, Scope.DEPARTMENT, "List a department's users")
ROLE_GRANT = declare("auth.role.grant", {Role.OPERATOR, Role.STEWARD}, Scope.DEPARTMENT, "Give a user a role in a department")
OPERATOR_GRANT = declare("auth.role.grant_operator", {Role.OPERATOR}, Scope.PLATFORM, "Make a user a platform operator")
TOKEN_CREATE = declare("auth.token.create", ALL, Scope.SELF, "Create an API token")
TOKEN_VIEW = declare("auth.token.view", ALL, Scope.SELF, "List API tokens")
TOKEN_REVOKE = declare("auth.token.revoke", ALL, Scope.SELF, "Revoke an API token")
SESSION_END = declare("auth.session.end", ALL, Scope.SELF, "Log out")
