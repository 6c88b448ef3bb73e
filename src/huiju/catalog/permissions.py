"""Actions of the catalog context."""

from huiju.auth.authz import Scope, declare
from huiju.auth.roles import Role

DATASET_VIEW = declare("catalog.dataset.view", {Role.OPERATOR, Role.STEWARD, Role.DEPT_USER}, Scope.DEPARTMENT,
                       "See a department's datasets and their versions")
DATASET_MANAGE = declare("catalog.dataset.manage", {Role.OPERATOR, Role.STEWARD}, Scope.DEPARTMENT,
                         "Register datasets, confirm schemas and labels, publish and roll back versions")
