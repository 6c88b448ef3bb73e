"""共享交换: share requests, approvals in working days, grants, delivery and exchange evidence."""
