//! Connection fan-in: eight instances through PgBouncer (session mode) against a PostgreSQL
//! that allows 50 connections, each instance's event listener connecting directly.

use std::sync::Arc;

use api::config::SecretUrl;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn eight_instances_through_pgbouncer_keep_answering_within_fifty_connections() {
    let Some(pgbouncer) = pgbouncer_binary() else {
        assert!(
            std::env::var_os("REQUIRE_BROWSER_TEST").is_none(),
            "PgBouncer is missing (Debian's pgbouncer; scripts/test installs it)"
        );
        eprintln!("SKIPPED: fan-in test: PgBouncer is missing; run scripts/test");
        return;
    };
    // 50 connections: 3 reserved for superusers, 8 listeners, 36 through PgBouncer.
    let cluster = tokio::task::spawn_blocking(move || PooledPostgres::start(pgbouncer, 50, 36))
        .await
        .unwrap();
    let database = Arc::new(TestDatabase::create().await);
    let mut instances = Vec::new();
    for _ in 0..8 {
        let (pooled, direct) = (cluster.pooled_url("sm"), cluster.direct_url("sm"));
        instances.push(
            spawn_app_on(database.clone(), move |settings| {
                settings.database.url = SecretUrl::new(pooled);
                settings.database.listen_url = Some(SecretUrl::new(direct));
                settings.database.create_database = true;
                // Session mode pins a server connection to each open client connection:
                // 8 × (pool 2 + 2 lookup connections) = 32 fit in PgBouncer's 36. (With the
                // default pool of 8, up to 80 would be asked for, and requests beyond the 36
                // wait for a connection until DB_TIMEOUT_SECS: 503s. SCALING.md, "Pooler".)
                settings.database.pool_size = 2;
                settings.server.workers = 2;
            })
            .await,
        );
    }

    // An account, then every instance answering it at once, several requests each.
    let first = &instances[0];
    let owner = first.signed_up("ada@example.com").await;
    let owner = &owner;
    let requests = instances.iter().flat_map(|instance| {
        (0..6).map(move |round| {
            let device = owner.via(instance);
            async move {
                match round % 3 {
                    0 => device.get("/api/sessions").await.status(),
                    1 => device.get("/api/activity").await.status(),
                    _ => device.me().await.status(),
                }
            }
        })
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert!(
        statuses.iter().all(|status| *status == StatusCode::OK),
        "{statuses:?}"
    );
    // A change through one instance is seen by another's next read.
    let renamed = owner
        .via(&instances[3])
        .patch("/api/me", json!({"name": "Ada L."}))
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    let me: serde_json::Value = owner.via(&instances[7]).me().await.json().await.unwrap();
    assert_eq!(me["user"]["name"], "Ada L.");
    // PostgreSQL saw at most PgBouncer's 36 and the 8 listeners (and this query).
    let connections = cluster.client_backends().await;
    assert!(connections <= 45, "{connections} connections");
}
