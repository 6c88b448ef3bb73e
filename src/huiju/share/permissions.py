"""Actions of the share context."""

from huiju.auth.authz import Scope, declare
from huiju.auth.roles import Role

DEPT = {Role.OPERATOR, Role.STEWARD, Role.DEPT_USER}
STEWARDS = {Role.OPERATOR, Role.STEWARD}

REQUEST_CREATE = declare("share.request.create", DEPT, Scope.DEPARTMENT,
                         "Ask for another department's data, and negotiate, escalate or withdraw the request")
REQUEST_VIEW = declare("share.request.view", DEPT, Scope.DEPARTMENT,
                       "See share requests of one's department, asked or received")
REQUEST_REVIEW = declare("share.request.review", STEWARDS, Scope.DEPARTMENT,
                         "Approve, approve in part or reject requests for one's department's data")
REQUEST_RULE = declare("share.request.rule", {Role.OPERATOR}, Scope.PLATFORM,
                       "Compliance review and the coordinating authority's ruling on escalated requests")
DEADLINE_CHECK = declare("share.deadline.check", {Role.OPERATOR}, Scope.PLATFORM,
                         "Send reply reminders and escalate overdue requests")
OVERVIEW = declare("share.overview", {Role.OPERATOR}, Scope.PLATFORM,
                   "See overdue requests and exchange statistics of every department")
GRANT_VIEW = declare("share.grant.view", DEPT, Scope.DEPARTMENT, "See grants given or received by one's department")
GRANT_MANAGE = declare("share.grant.manage", STEWARDS, Scope.DEPARTMENT,
                       "Renew, suspend, resume or revoke grants on one's department's data")
GRANT_TOKEN = declare("share.grant.token", DEPT, Scope.DEPARTMENT,
                      "Issue an API token for one of one's department's grants")
DATA_READ = declare("share.data.read", DEPT, Scope.DEPARTMENT,
                    "Receive data under one of one's department's grants")
OBJECTION_REPORT = declare("share.objection.report", DEPT, Scope.DEPARTMENT,
                           "Report a delivered value believed wrong (疑义)")
OBJECTION_RESOLVE = declare("share.objection.resolve", STEWARDS, Scope.DEPARTMENT,
                            "Correct, confirm or reject a 疑义 report on one's department's data")
TRACE = declare("share.trace", {Role.OPERATOR}, Scope.PLATFORM, "Find which grant a leaked extract came from")
