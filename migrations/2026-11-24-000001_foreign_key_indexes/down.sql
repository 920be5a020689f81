DROP INDEX login_approvals_decided_by;
DROP INDEX login_approvals_session;
DROP INDEX sessions_ended_by;
