"""Actions of the public portal (accounts, keys, conditional open, interaction)."""

from huiju.auth.authz import Scope, declare
from huiju.auth.roles import Role

ALL = {Role.OPERATOR, Role.STEWARD, Role.DEPT_USER, Role.PUBLIC}
REVIEWERS = {Role.OPERATOR, Role.STEWARD}

ACCOUNT_MANAGE = declare("opendata.account.manage", ALL, Scope.SELF,
                         "See and change one's portal account and real-name level")
KEY_MANAGE = declare("opendata.key.manage", ALL, Scope.SELF, "Create, list and revoke one's open-data API keys")
APPLICATION_SUBMIT = declare("opendata.application.submit", ALL, Scope.SELF,
                             "Apply for conditional data, accept the agreement, report usage")
APPLICATION_REVIEW = declare("opendata.application.review", REVIEWERS, Scope.DEPARTMENT,
                             "Review and revoke applications for a department's conditional data")
FEEDBACK_SUBMIT = declare("opendata.feedback.submit", ALL, Scope.PLATFORM,
                          "Request data, report errors, rate and comment, submit apps")
FEEDBACK_REPLY = declare("opendata.feedback.reply", REVIEWERS, Scope.DEPARTMENT,
                         "Answer data requests and error reports addressed to a department")
MODERATE = declare("opendata.moderate", {Role.OPERATOR}, Scope.PLATFORM,
                   "Moderate comments and review showcase apps")
CONDITIONAL_READ = declare("opendata.read", ALL, Scope.SELF,
                           "Read conditional open data under one's own active data use agreement")
