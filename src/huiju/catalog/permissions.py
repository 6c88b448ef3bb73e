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
