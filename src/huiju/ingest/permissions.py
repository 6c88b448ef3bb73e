"""Actions of the ingest context."""

from huiju.auth.authz import Scope, declare
from huiju.auth.roles import Role

INGEST_RUN = declare("ingest.run", {Role.OPERATOR, Role.STEWARD}, Scope.DEPARTMENT,
                     "Load data into a department's dataset")
INGEST_VIEW = declare("ingest.view", {Role.OPERATOR, Role.STEWARD}, Scope.DEPARTMENT,
                      "See ingest jobs, quality reports and quarantined rows")
QUARANTINE_RESOLVE = declare("ingest.quarantine.resolve", {Role.OPERATOR, Role.STEWARD}, Scope.DEPARTMENT,
                             "Correct and resubmit, or discard, quarantined rows")
SOURCE_MANAGE = declare("ingest.source.manage", {Role.OPERATOR, Role.STEWARD}, Scope.DEPARTMENT,
                        "Keep a department's sources on the platform: where to read, secrets, write mode, schedule")
JOB_WORK = declare("ingest.job.work", {Role.OPERATOR}, Scope.PLATFORM,
                   "Run the job queue: claim queued jobs, run due schedules, mark stopped jobs interrupted")

# 一数一源 (authoritative sources), correction tasks (纠错) and base libraries (基础库)
ELEMENT_VIEW = declare("ingest.element.view", {Role.OPERATOR, Role.STEWARD, Role.DEPT_USER}, Scope.PLATFORM,
                       "See the data-element registry (一数一源) and which columns carry each element")
ELEMENT_MANAGE = declare("ingest.element.manage", {Role.OPERATOR}, Scope.PLATFORM,
                         "Register data elements and name their authoritative department")
ELEMENT_MAP = declare("ingest.element.map", {Role.OPERATOR, Role.STEWARD}, Scope.DEPARTMENT,
                      "Say which column of a department's dataset carries which data element")
AUTHORITY_COMPARE = declare("ingest.authority.compare", {Role.OPERATOR, Role.STEWARD}, Scope.DEPARTMENT,
                            "Compare other departments' values of the elements a department is the authority for")
CORRECTION_VIEW = declare("ingest.correction.view", {Role.OPERATOR, Role.STEWARD}, Scope.DEPARTMENT,
                          "See the correction tasks assigned to a department")
CORRECTION_RESOLVE = declare("ingest.correction.resolve", {Role.OPERATOR, Role.STEWARD}, Scope.DEPARTMENT,
                             "Answer a correction task: value confirmed, corrected, or report rejected")
BASELIB_BUILD = declare("ingest.baselib.build", {Role.OPERATOR}, Scope.PLATFORM,
                        "Build the population and legal-entity base libraries")
