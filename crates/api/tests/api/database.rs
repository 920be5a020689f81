//! One database per test, cloned from a template that is migrated once, and dropped when
//! the test ends (even when it fails).
//!
//! The template is named after a fingerprint of the migrations, so it is rebuilt when they
//! change and reused otherwise (also across runs); `CREATE DATABASE … TEMPLATE` copies it in
//! milliseconds instead of running every migration for every test.

use std::path::Path;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use tokio::sync::OnceCell;

fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

async fn admin() -> AsyncPgConnection {
    AsyncPgConnection::establish(&format!("{}/postgres", server_url()))
        .await
        .expect("PostgreSQL is reachable (set TEST_DATABASE_URL)")
}

/// A stable hash of every migration file (FNV-1a: no dependency, no randomness).
fn migrations_fingerprint() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut files: Vec<_> = walk(&root);
    files.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in files {
        let mut bytes = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .to_string_lossy()
            .into_owned()
            .into_bytes();
        bytes.extend(std::fs::read(&file).expect("a readable migration"));
        for byte in bytes {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)
        .expect("the migrations folder")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// The migrated template's name, made once per test process (and reused across runs).
async fn template() -> &'static str {
    TEMPLATE
        .get_or_init(|| async {
            let name = format!("sm_template_{}", migrations_fingerprint());
            let mut conn = admin().await;
            // Other test processes may be building it too.
            diesel::sql_query("SELECT pg_advisory_lock(7215001)")
                .execute(&mut conn)
                .await
                .expect("lock");
            if !exists(&mut conn, &name).await {
                for stale in stale_templates(&mut conn).await {
                    drop_database(&mut conn, &stale).await;
                }
                let building = format!("{name}_building");
                drop_database(&mut conn, &building).await;
                diesel::sql_query(format!("CREATE DATABASE \"{building}\""))
                    .execute(&mut conn)
                    .await
                    .expect("create the template");
                api::storage::db::run_migrations(&format!("{}/{building}", server_url()))
                    .await
                    .expect("migrations run");
                // Renamed only when complete: a half-built template is never used.
                diesel::sql_query(format!(
                    "ALTER DATABASE \"{building}\" RENAME TO \"{name}\""
                ))
                .execute(&mut conn)
                .await
                .expect("rename the template");
            }
            refresh_partitions(&name).await;
            diesel::sql_query("SELECT pg_advisory_unlock(7215001)")
                .execute(&mut conn)
                .await
                .expect("unlock");
            name
        })
        .await
}

/// Brings the template's time partitions up to date, as a sweeper pass would now and in an
/// hour: the template is reused across runs, and each test app's start
/// (`sweeper::prepare_partitions`) would otherwise make them, DDL in every test.
async fn refresh_partitions(template: &str) {
    use api::services::sweeper::{maintain_partitions, partition_plan};
    let url = format!("{}/{template}", server_url());
    let settings = api::config::Settings::for_tests(&url);
    let mut conn = AsyncPgConnection::establish(&url)
        .await
        .expect("connect to the template");
    let now = chrono::Utc::now();
    for at in [now, now + chrono::Duration::hours(1)] {
        maintain_partitions(&mut conn, at, &partition_plan(&settings, at))
            .await
            .expect("the template's partitions are made");
    }
}

async fn exists(conn: &mut AsyncPgConnection, name: &str) -> bool {
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result::<Found>(conn)
        .await
        .expect("pg_database")
        .n
        > 0
}

async fn stale_templates(conn: &mut AsyncPgConnection) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'sm\\_template\\_%'")
        .load::<Name>(conn)
        .await
        .expect("pg_database")
        .into_iter()
        .map(|row| row.datname)
        .collect()
}

async fn drop_database(conn: &mut AsyncPgConnection, name: &str) {
    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(conn)
        .await
        .expect("drop a database");
}

/// A database of this test's own. Shared (`Arc`) by the instances of a multi-instance
/// test; dropped with the last of them.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let template = template().await;
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = admin().await;
        diesel::sql_query(format!(
            "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
        ))
        .execute(&mut conn)
        .await
        .expect("clone the template");
        Self {
            url: format!("{}/{name}", server_url()),
            name,
        }
    }
}

impl TestDatabase {
    /// The name and URL of a database that does not exist yet (the server creates and
    /// migrates it); dropped when the test ends like any other.
    pub fn not_yet_created() -> Self {
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        Self {
            url: format!("{}/{name}", server_url()),
            name,
        }
    }
}

/// Open sessions whose copy of their user's fields (what the session check reads instead of
/// `users`) differs from the user's row; `None` if the database cannot be read.
async fn stale_user_copies(url: &str) -> Option<i64> {
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = AsyncPgConnection::establish(url).await.ok()?;
    diesel::sql_query(
        "SELECT count(*) AS n FROM sessions s JOIN users u ON u.id = s.user_id
          WHERE s.ended_at IS NULL
            AND (s.user_email, s.user_name, s.user_created_at, s.user_updated_at,
                 s.user_email_verified_at, s.user_device_generation,
                 s.user_devices_forgotten_at, s.user_totp_enabled_at)
                IS DISTINCT FROM
                (u.email, u.name, u.created_at, u.updated_at, u.email_verified_at,
                 u.device_generation, u.devices_forgotten_at, u.totp_enabled_at)",
    )
    .get_result::<Found>(&mut conn)
    .await
    .ok()
    .map(|found| found.n)
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs outside any runtime we may block: use a thread with its own.
        let name = self.name.clone();
        let url = self.url.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                // Every test checks, whatever it did, that the triggers kept each open
                // session's copy of its user (migration `sessions_carry_their_user`).
                let stale = stale_user_copies(&url).await;
                let mut conn = admin().await;
                drop_database(&mut conn, &name).await;
                stale
            })
        })
        .join();
        match dropped {
            Ok(Some(stale)) if stale > 0 && !std::thread::panicking() => {
                panic!("{stale} open session(s) hold a copy of their user that differs from it")
            }
            Ok(_) => {}
            Err(_) => eprintln!("could not drop the test database {}", self.name),
        }
    }
}
