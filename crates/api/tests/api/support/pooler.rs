//! A small PostgreSQL (`max_connections` as given) of its own, with Debian's PgBouncer in
//! session mode in front of it, as `scripts/cluster` runs them. Both stop when it is dropped.

use std::process::Command;

use pg_harness::{
    as_postgres, free_port, initdb, pg_bindir, remove_directory, start_server, stop_server,
    temporary_directory,
};

pub struct PooledPostgres {
    bin: String,
    dir: String,
    pub postgres_port: u16,
    pub pgbouncer_port: u16,
}

/// PgBouncer's binary, if installed.
pub fn pgbouncer_binary() -> Option<&'static str> {
    ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
        .into_iter()
        .find(|path| std::path::Path::new(path).exists())
}

impl PooledPostgres {
    /// Blocking: call it in `spawn_blocking`. PgBouncer gives PostgreSQL at most
    /// `server_connections` connections in all.
    pub fn start(pgbouncer: &str, max_connections: u32, server_connections: u32) -> Self {
        let mut cluster = Self {
            bin: pg_bindir().expect("pg_config runs"),
            dir: temporary_directory("pooled").expect("a temporary directory"),
            postgres_port: 0,
            pgbouncer_port: 0,
        };
        initdb(&cluster.bin, &format!("{}/data", cluster.dir)).expect("initdb runs");
        // Picked after initdb (seconds), just before each is bound: a port freed earlier
        // could meanwhile be taken by another process.
        cluster.postgres_port = free_port().expect("a free port");
        cluster.pgbouncer_port = free_port().expect("a free port");
        start_server(
            &cluster.bin,
            &cluster.dir,
            "data",
            cluster.postgres_port,
            &format!("-c max_connections={max_connections}"),
        )
        .expect("PostgreSQL starts");
        let ini = format!(
            "[databases]\n* = host=127.0.0.1 port={postgres}\n\
             [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {dir}/users.txt\npool_mode = session\n\
             default_pool_size = {server_connections}\nmax_user_connections = {server_connections}\n\
             max_client_conn = 10000\nquery_wait_timeout = 30\n\
             ignore_startup_parameters = extra_float_digits\n\
             logfile = {dir}/pgbouncer.log\npidfile = {dir}/pgbouncer.pid\n",
            postgres = cluster.postgres_port,
            port = cluster.pgbouncer_port,
            dir = cluster.dir,
        );
        std::fs::write(format!("{}/pgbouncer.ini", cluster.dir), ini).unwrap();
        std::fs::write(format!("{}/users.txt", cluster.dir), "\"postgres\" \"\"\n").unwrap();
        as_postgres(
            pgbouncer,
            &["-d", &format!("{}/pgbouncer.ini", cluster.dir)],
        )
        .expect("PgBouncer starts");
        cluster
    }

    /// Through PgBouncer.
    pub fn pooled_url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{database}",
            self.pgbouncer_port
        )
    }

    /// Connections PostgreSQL serves now (this query's included).
    pub async fn client_backends(&self) -> i64 {
        use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = AsyncPgConnection::establish(&self.direct_url("postgres"))
            .await
            .expect("PostgreSQL answers");
        diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE backend_type = 'client backend'",
        )
        .get_result::<Count>(&mut conn)
        .await
        .expect("query runs")
        .n
    }

    /// Straight to PostgreSQL.
    pub fn direct_url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{database}",
            self.postgres_port
        )
    }
}

impl Drop for PooledPostgres {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(format!("{}/pgbouncer.pid", self.dir)) {
            let _ = Command::new("kill").arg(pid.trim()).output();
        }
        stop_server(&self.bin, &self.dir, "data");
        remove_directory(&self.dir);
    }
}
