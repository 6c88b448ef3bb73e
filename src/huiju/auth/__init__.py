"""Identity and permissions: departments, users, roles, memberships, sessions, API tokens."""
