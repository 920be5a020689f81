//! A PostgreSQL primary and a streaming replica of it, made from the machine's PostgreSQL
//! binaries in a temporary directory (the shared server allows no replication
//! connections): `initdb` as the `postgres` user, a `replication` line in `pg_hba.conf`,
//! `pg_basebackup -R` into the replica. About 15 s; both stop when it is dropped.

use std::io::Write;
use std::process::{Command, Output};

use super::free_port;

pub struct ReplicatedPostgres {
    bin: String,
    dir: String,
    pub primary_port: u16,
    pub replica_port: u16,
}

/// `program` to run as `postgres` (PostgreSQL refuses to run as root).
pub(super) fn postgres_command(program: &str) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|out| out.stdout.trim_ascii() == b"0")
        .unwrap_or(false);
    if root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--", program]);
        command
    } else {
        Command::new(program)
    }
}

/// Runs `program` as `postgres`; it must succeed.
pub(super) fn as_postgres(program: &str, args: &[&str]) -> Output {
    let output = postgres_command(program)
        .args(args)
        .output()
        .expect("the command runs");
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Where PostgreSQL's programs are.
pub(super) fn pg_bindir() -> String {
    String::from_utf8(
        Command::new("pg_config")
            .arg("--bindir")
            .output()
            .expect("pg_config runs")
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned()
}

/// A fresh directory under /tmp owned by `postgres`.
pub(super) fn temporary_directory(purpose: &str) -> String {
    let made = as_postgres("mktemp", &["-d", &format!("/tmp/sm-{purpose}-XXXXXX")]);
    String::from_utf8(made.stdout).unwrap().trim().to_owned()
}

pub(super) fn initdb(bin: &str, data: &str) {
    as_postgres(
        &format!("{bin}/initdb"),
        &["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"],
    );
}

/// Starts the server of `dir/name` on `port` (sockets in `dir`), with `extra` options.
pub(super) fn start_server(bin: &str, dir: &str, name: &str, port: u16, extra: &str) {
    let options = format!("-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off {extra}");
    as_postgres(
        &format!("{bin}/pg_ctl"),
        &[
            "-D",
            &format!("{dir}/{name}"),
            "-o",
            &options,
            "-l",
            &format!("{dir}/{name}.log"),
            "-w",
            "start",
        ],
    );
}

/// Stops the server of `dir/name` at once; errors ignored (it may be stopped already).
pub(super) fn stop_server(bin: &str, dir: &str, name: &str) {
    let _ = postgres_command(&format!("{bin}/pg_ctl"))
        .args(["-D", &format!("{dir}/{name}"), "-m", "immediate", "stop"])
        .output();
}

impl ReplicatedPostgres {
    /// Blocking: call it in `spawn_blocking`.
    pub fn start() -> Self {
        let cluster = Self {
            bin: pg_bindir(),
            dir: temporary_directory("replica"),
            primary_port: free_port(),
            replica_port: free_port(),
        };
        let primary = cluster.data("primary");
        initdb(&cluster.bin, &primary);
        std::fs::OpenOptions::new()
            .append(true)
            .open(format!("{primary}/pg_hba.conf"))
            .and_then(|mut hba| hba.write_all(b"\nhost replication all 127.0.0.1/32 trust\n"))
            .expect("pg_hba.conf takes the replication line");
        cluster.start_server("primary", cluster.primary_port);
        as_postgres(
            &cluster.tool("pg_basebackup"),
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &cluster.primary_port.to_string(),
                "-U",
                "postgres",
                "-D",
                &cluster.data("replica"),
                "-R",
                "-X",
                "stream",
            ],
        );
        cluster.start_server("replica", cluster.replica_port);
        cluster
    }

    fn tool(&self, name: &str) -> String {
        format!("{}/{name}", self.bin)
    }

    fn data(&self, name: &str) -> String {
        format!("{}/{name}", self.dir)
    }

    fn start_server(&self, name: &str, port: u16) {
        start_server(&self.bin, &self.dir, name, port, "");
    }

    pub fn primary_url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{database}",
            self.primary_port
        )
    }

    pub fn replica_url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{database}",
            self.replica_port
        )
    }

    /// Stops the replica at once (as a crash would).
    pub fn stop_replica(&self) {
        as_postgres(
            &self.tool("pg_ctl"),
            &["-D", &self.data("replica"), "-m", "immediate", "-w", "stop"],
        );
    }

    /// Pauses (or resumes) the replica's replay of the primary's changes.
    pub async fn pause_replay(&self, paused: bool) {
        let call = if paused {
            "SELECT pg_wal_replay_pause()"
        } else {
            "SELECT pg_wal_replay_resume()"
        };
        execute(&self.replica_url("postgres"), call).await;
    }

    /// Waits until the replica has replayed everything the primary wrote so far.
    pub async fn wait_until_replayed(&self) {
        let target = number(
            &self.primary_url("postgres"),
            "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint AS n",
        )
        .await;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let replayed = number(
                &self.replica_url("postgres"),
                "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint AS n",
            )
            .await;
            if replayed >= target {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the replica did not catch up"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// A query's one bigint `n`.
async fn number(url: &str, query: &str) -> i64 {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .expect("the test's PostgreSQL answers");
    diesel::sql_query(query)
        .get_result::<Row>(&mut conn)
        .await
        .expect("query runs")
        .n
}

async fn execute(url: &str, statement: &str) {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .expect("the test's PostgreSQL answers");
    diesel::sql_query(statement)
        .execute(&mut conn)
        .await
        .expect("statement runs");
}

impl Drop for ReplicatedPostgres {
    fn drop(&mut self) {
        for name in ["replica", "primary"] {
            stop_server(&self.bin, &self.dir, name);
        }
        let _ = postgres_command("rm").args(["-rf", &self.dir]).output();
    }
}
