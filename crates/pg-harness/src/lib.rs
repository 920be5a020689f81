//! Throwaway PostgreSQL servers made from the machine's PostgreSQL binaries in a temporary
//! directory, for what the shared server cannot give (it allows no replication connections,
//! and its settings are not ours to change): `initdb` as the `postgres` user (PostgreSQL
//! refuses root), `pg_ctl` to start and stop. Used by the API's tests and by the bench.

use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Output};

use anyhow::{Context, Result, bail};

/// `program` to run as `postgres` when this process is root.
pub fn postgres_command(program: &str) -> Command {
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

/// Runs `program` as `postgres`; an error, with its standard error, if it fails.
pub fn as_postgres(program: &str, args: &[&str]) -> Result<Output> {
    let output = postgres_command(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program}"))?;
    if !output.status.success() {
        bail!(
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output)
}

/// Where PostgreSQL's programs are (`pg_config --bindir`).
pub fn pg_bindir() -> Result<String> {
    let output = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .context("running pg_config")?;
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

/// A fresh directory under /tmp owned by `postgres`.
pub fn temporary_directory(purpose: &str) -> Result<String> {
    let made = as_postgres("mktemp", &["-d", &format!("/tmp/sm-{purpose}-XXXXXX")])?;
    Ok(String::from_utf8(made.stdout)?.trim().to_owned())
}

/// A port free on 127.0.0.1 now.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub fn initdb(bin: &str, data: &str) -> Result<()> {
    as_postgres(
        &format!("{bin}/initdb"),
        &["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"],
    )
    .map(drop)
}

/// Starts the server of `dir/name` on `port` (its sockets in `dir`), with `extra` options.
pub fn start_server(bin: &str, dir: &str, name: &str, port: u16, extra: &str) -> Result<()> {
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
    )
    .map(drop)
}

/// Stops the server of `dir/name` at once; errors ignored (it may be stopped already).
pub fn stop_server(bin: &str, dir: &str, name: &str) {
    let _ = postgres_command(&format!("{bin}/pg_ctl"))
        .args(["-D", &format!("{dir}/{name}"), "-m", "immediate", "stop"])
        .output();
}

/// Removes a directory made by `temporary_directory`, as its owner.
pub fn remove_directory(dir: &str) {
    let _ = postgres_command("rm").args(["-rf", dir]).output();
}

/// A primary and a streaming replica of it (`pg_basebackup -R`). About 15 s to start
/// (blocking: call it in `spawn_blocking`); both stop, and their directory goes, on drop.
pub struct ReplicatedPostgres {
    bin: String,
    dir: String,
    pub primary_port: u16,
    pub replica_port: u16,
}

impl ReplicatedPostgres {
    /// `server_options` go to both servers (e.g. `-c shared_buffers=256MB`).
    pub fn start(server_options: &str) -> Result<Self> {
        // Each port is picked just before its server binds it: another process could take a
        // port freed seconds earlier (initdb and the base backup take most of the 15 s).
        let mut cluster = Self {
            bin: pg_bindir()?,
            dir: temporary_directory("replica")?,
            primary_port: 0,
            replica_port: 0,
        };
        let primary = cluster.data("primary");
        initdb(&cluster.bin, &primary)?;
        std::fs::OpenOptions::new()
            .append(true)
            .open(format!("{primary}/pg_hba.conf"))?
            .write_all(b"\nhost replication all 127.0.0.1/32 trust\n")
            .context("adding the replication line to pg_hba.conf")?;
        cluster.primary_port = free_port()?;
        start_server(
            &cluster.bin,
            &cluster.dir,
            "primary",
            cluster.primary_port,
            server_options,
        )?;
        as_postgres(
            &format!("{}/pg_basebackup", cluster.bin),
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
        )?;
        cluster.replica_port = free_port()?;
        start_server(
            &cluster.bin,
            &cluster.dir,
            "replica",
            cluster.replica_port,
            server_options,
        )?;
        Ok(cluster)
    }

    fn data(&self, name: &str) -> String {
        format!("{}/{name}", self.dir)
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
    pub fn stop_replica(&self) -> Result<()> {
        as_postgres(
            &format!("{}/pg_ctl", self.bin),
            &["-D", &self.data("replica"), "-m", "immediate", "-w", "stop"],
        )
        .map(drop)
    }
}

impl Drop for ReplicatedPostgres {
    fn drop(&mut self) {
        for name in ["replica", "primary"] {
            stop_server(&self.bin, &self.dir, name);
        }
        remove_directory(&self.dir);
    }
}
