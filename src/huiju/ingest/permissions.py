"""Actions of the ingest context."""

from huiju.auth.authz import Scope, declare
from huiju.auth.roles import Role

INGEST_RUN = declare("ingest.run", {Role.OPERATOR, Role.STEWARD}, Scope.DEPARTMENT,
                     "Load data into a department's dataset")
INGEST_VIEW = declare("ingest.view", {Role.OPERATOR, Role.STEWARD}, Scope.DEPARTMENT,
                      "See ingest jobs, quality reports and quarantined rows")
QUARANTINE_RESOLVE = declare("ingest.quarantine.resolve", {Role.OPERATOR, Role.STEWARD}, Scope.DEPARTMENT,
                             "Correct and resubmit, or discard, quarantined rows")
