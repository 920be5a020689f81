ALTER TABLE login_approvals DROP CONSTRAINT login_approvals_status_known;
ALTER TABLE sessions
    DROP CONSTRAINT sessions_ended_with_a_reason,
    DROP CONSTRAINT sessions_end_reason_known;
