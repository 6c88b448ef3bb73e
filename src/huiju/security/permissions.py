"""Actions of the security context."""

from huiju.auth.authz import Scope, declare
from huiju.auth.roles import Role

AUDIT_VIEW = declare("security.audit.view", {Role.OPERATOR}, Scope.PLATFORM, "Read the audit chain")
AUDIT_VERIFY = declare("security.audit.verify", {Role.OPERATOR}, Scope.PLATFORM, "Verify the audit chain")
