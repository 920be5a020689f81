-- The states of sessions and login requests are Rust enums (model::session::EndReason,
-- model::approval::ApprovalStatus) stored as text; the database refuses anything else.
ALTER TABLE sessions
    ADD CONSTRAINT sessions_end_reason_known CHECK (
        end_reason IN ('logout', 'revoked', 'idle_timeout', 'lifetime_exceeded', 'password_changed')
    ),
    ADD CONSTRAINT sessions_ended_with_a_reason CHECK ((ended_at IS NULL) = (end_reason IS NULL));

ALTER TABLE login_approvals
    ADD CONSTRAINT login_approvals_status_known CHECK (
        status IN ('pending', 'approved', 'completed', 'denied', 'expired', 'locked',
                   'session_limit', 'cancelled')
    );
