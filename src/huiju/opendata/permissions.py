"""Actions of the open-data context (reading open data is public: those service functions are @public)."""

from huiju.auth.authz import Scope, declare
from huiju.auth.roles import Role

OPEN_PROPOSE = declare("opendata.propose", {Role.OPERATOR, Role.STEWARD}, Scope.DEPARTMENT,
                       "Propose a published catalog entry for the open portal, with its open policy")
OPEN_REVIEW = declare("opendata.review", {Role.OPERATOR}, Scope.PLATFORM,
                      "Review open proposals (approve or reject) and see entries overdue for opening")
OPEN_MANAGE = declare("opendata.manage", {Role.OPERATOR, Role.STEWARD}, Scope.DEPARTMENT,
                      "Re-derive or withdraw a department's open datasets")
