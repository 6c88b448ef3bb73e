"""Actions of the catalog context."""

from huiju.auth.authz import Scope, declare
from huiju.auth.roles import Role

DATASET_VIEW = declare("catalog.dataset.view", {Role.OPERATOR, Role.STEWARD, Role.DEPT_USER}, Scope.DEPARTMENT,
                       "See a department's datasets and their versions")
DATASET_MANAGE = declare("catalog.dataset.manage", {Role.OPERATOR, Role.STEWARD}, Scope.DEPARTMENT,
                         "Register datasets, confirm schemas and labels, publish and roll back versions")
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
