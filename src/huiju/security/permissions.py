"""Actions of the security context."""

from huiju.auth.authz import Scope, declare
from huiju.auth.roles import Role

AUDIT_VIEW = declare("security.audit.view", {Role.OPERATOR}, Scope.PLATFORM, "Read the audit chain")
AUDIT_VERIFY = declare("security.audit.verify", {Role.OPERATOR}, Scope.PLATFORM, "Verify the audit chain")
AUDIT_CHECKPOINT = declare("security.audit.checkpoint", {Role.OPERATOR}, Scope.PLATFORM,
                           "Sign an audit checkpoint now")
AUDIT_EXPORT = declare("security.audit.export", {Role.OPERATOR}, Scope.PLATFORM,
                       "Export the audit chain for external auditors")
KEYS_VIEW = declare("security.keys.view", {Role.OPERATOR}, Scope.PLATFORM, "List encryption and signing keys")
KEYS_ROTATE = declare("security.keys.rotate", {Role.OPERATOR}, Scope.PLATFORM,
                      "Rotate data and signing keys, or re-wrap them under a new master key")
