"""Actions of the catalog context."""

from huiju.auth.authz import Scope, declare
from huiju.auth.roles import Role

DATASET_VIEW = declare("catalog.dataset.view", {Role.OPERATOR, Role.STEWARD, Role.DEPT_USER}, Scope.DEPARTMENT,
                       "See a department's datasets and their versions")
DATASET_MANAGE = declare("catalog.dataset.manage", {Role.OPERATOR, Role.STEWARD}, Scope.DEPARTMENT,
                         "Register datasets, confirm schemas and labels, publish and roll back versions")
ENTRY_BROWSE = declare("catalog.entry.browse", {Role.OPERATOR, Role.STEWARD, Role.DEPT_USER, Role.PUBLIC},
                       Scope.PLATFORM, "Find and read published catalog entries")
ENTRY_VIEW = declare("catalog.entry.view", {Role.OPERATOR, Role.STEWARD, Role.DEPT_USER}, Scope.DEPARTMENT,
                     "See a department's catalog entries in every state, drafts included")
ENTRY_MANAGE = declare("catalog.entry.manage", {Role.OPERATOR, Role.STEWARD}, Scope.DEPARTMENT,
                       "Register, edit, import, submit, withdraw catalog entries and mount datasets on them")
ENTRY_REVIEW = declare("catalog.entry.review", {Role.OPERATOR}, Scope.PLATFORM,
                       "Review submitted catalog entries: approve (publish) or reject")
HARVEST_MANAGE = declare("catalog.harvest.manage", {Role.OPERATOR}, Scope.PLATFORM,
                         "Add harvest sources and harvest other catalogs")
DATA_READ = declare("catalog.data.read", {Role.OPERATOR, Role.STEWARD, Role.DEPT_USER}, Scope.DEPARTMENT,
                    "Read a department's own data through read_rows (operators: masked outside a grant)")
DATA_READ_GRANTED = declare("catalog.data.read_granted", {Role.OPERATOR, Role.STEWARD, Role.DEPT_USER, Role.PUBLIC},
                            Scope.PLATFORM, "Read another department's data under a grant's read scope")
LABEL_MANAGE = declare("catalog.label.manage", {Role.OPERATOR, Role.STEWARD}, Scope.DEPARTMENT,
                       "Confirm or change the classification labels and masking policy of a dataset's columns")
LEVEL_EXCEPTION = declare("catalog.label.exception", {Role.OPERATOR}, Scope.PLATFORM,
                          "Record an exception to the level a dataset or column inherits (就高从严)")
LABEL_VIEW = declare("catalog.label.view", {Role.OPERATOR}, Scope.PLATFORM,
                     "See what each data level contains across all departments")
