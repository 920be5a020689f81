//! Two operations on one account at the same moment, many times over: whichever commits
//! first, what is left is what one of the two orders would leave.

use reqwest::StatusCode;

use crate::support::*;

/// An approval reserves a session for its request; "sign out all other devices" ends the
/// sessions and cancels the requests in flight. Both take the user's row lock first, so the
/// approval never lands between the two halves of the sign-out — which would leave a
/// cancelled request whose reserved session stays active, holding a slot until it lapses.
#[tokio::test]
async fn approving_while_signing_out_all_other_devices_leaves_no_reserved_session_active() {
    let app = spawn_app_with(|settings| settings.approval.max_requests_per_hour = 1000).await;
    let first = app.user_with_one_session().await;
    for round in 0..60 {
        let waiting = app
            .pending_approval("ada@example.com", FIREFOX_WINDOWS)
            .await;
        let (approved, signed_out) = tokio::join!(
            waiting.approve_from(&first),
            first.delete("/api/sessions/others")
        );
        let approved = approved.status();
        assert!(
            approved == StatusCode::OK || approved.is_client_error(),
            "round {round}: approve answered {approved}"
        );
        assert_eq!(signed_out.status(), StatusCode::OK, "round {round}");
        let orphans = app
            .sql(
                "SELECT s.id FROM sessions s JOIN login_approvals a ON a.session_id = s.id \
                 WHERE a.status = 'cancelled' AND s.ended_at IS NULL",
            )
            .await;
        assert!(
            orphans.is_empty(),
            "round {round}: a cancelled request's reserved session is still active"
        );
        assert_eq!(app.active_sessions_in_db().await, 1, "round {round}");
        assert_error(
            waiting.complete().await,
            StatusCode::GONE,
            "approval_cancelled",
        )
        .await;
    }
}
