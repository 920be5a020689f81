//! The read replica (`DATABASE_REPLICA_URL`) against a real streaming replica: lists come
//! from it, a user's own change shows at once (read-your-writes), and a stopped replica
//! falls back to the primary without an error.

use api::config::SecretUrl;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

async fn browsers(device: &Device) -> Vec<String> {
    let response = device.get("/api/sessions").await;
    assert_eq!(response.status(), StatusCode::OK);
    let list: Value = response.json().await.unwrap();
    list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|session| session["browser"].as_str().unwrap().to_owned())
        .collect()
}

async fn replica_reads(app: &TestApp) -> String {
    let text = reqwest::get(format!("{}/metrics", app.metrics_address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|line| line.starts_with("sm_db_replica_reads_total"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn lists_come_from_the_replica_own_changes_show_at_once_and_a_stopped_replica_is_skipped() {
    let cluster = tokio::task::spawn_blocking(ReplicatedPostgres::start)
        .await
        .unwrap();
    let app = spawn_app_with(|settings| {
        settings.database.url = SecretUrl::new(cluster.primary_url("sm"));
        settings.database.replica_url = Some(SecretUrl::new(cluster.replica_url("sm")));
        settings.database.create_database = true;
    })
    .await;
    let (first, second) = app.user_with_two_sessions().await;
    cluster.wait_until_replayed().await;

    // The replica stops replaying; a change made behind the API's back (no account's own
    // write) is on the primary only. The list comes from the replica: without it.
    cluster.pause_replay(true).await;
    app.execute("UPDATE sessions SET browser = 'Changed on the primary'")
        .await;
    let listed = browsers(&first).await;
    assert_eq!(listed.len(), 2);
    assert!(
        !listed
            .iter()
            .any(|browser| browser == "Changed on the primary"),
        "the list was not read from the replica: {listed:?}"
    );
    for path in ["/api/activity", "/api/sessions/history"] {
        assert_eq!(first.get(path).await.status(), StatusCode::OK);
    }
    assert!(replica_reads(&app).await.contains("served_by=\"replica\""));

    // The user ends the other session: the replica has not replayed that, so their next
    // list comes from the primary, and shows it at once.
    let second_id = second.session_id().await;
    assert_eq!(
        first
            .delete(&format!("/api/sessions/{second_id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(browsers(&first).await, vec!["Changed on the primary"]);
    let activity: Value = first.get("/api/activity").await.json().await.unwrap();
    assert_eq!(activity["items"][0]["kind"], "session_revoked");
    assert!(replica_reads(&app).await.contains("reason=\"behind\""));

    // Caught up again, the replica serves the same list.
    cluster.pause_replay(false).await;
    cluster.wait_until_replayed().await;
    assert_eq!(browsers(&first).await, vec!["Changed on the primary"]);

    // A stopped replica: the reads go to the primary, without an error.
    // (Blocking, briefly: nothing is in flight.)
    cluster.stop_replica();
    assert_eq!(browsers(&first).await, vec!["Changed on the primary"]);
    assert_eq!(browsers(&first).await, vec!["Changed on the primary"]);
    let reads = replica_reads(&app).await;
    assert!(reads.contains("reason=\"down\""), "{reads}");
    assert!(reads.contains("reason=\"resting\""), "{reads}");
}
