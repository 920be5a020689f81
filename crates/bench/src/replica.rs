//! A PostgreSQL primary and a streaming replica of it, for section 6: made from the
//! machine's PostgreSQL binaries in a temporary directory (the shared server allows no
//! replication connections), as the tests' harness does: `initdb` as `postgres`, a
//! `replication` line in `pg_hba.conf`, `pg_basebackup -R` into the replica. Both stop, and
//! the directory goes, when it is dropped.

use std::io::Write;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::server::free_port;

pub struct Replicated {
    bin: String,
    dir: String,
    pub primary_port: u16,
    pub replica_port: u16,
}

/// `program` run as `postgres` when this runs as root (PostgreSQL refuses root).
fn as_postgres(program: &str, args: &[&str]) -> Result<String> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|out| out.stdout.trim_ascii() == b"0")
        .unwrap_or(false);
    let mut command = if root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--", program]);
        command
    } else {
        Command::new(program)
    };
    let output = command
        .args(args)
        .output()
        .with_context(|| format!("running {program}"))?;
    if !output.status.success() {
        bail!(
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

impl Replicated {
    /// Blocking (about 15 s): call it in `spawn_blocking`.
    pub fn start() -> Result<Self> {
        let bin = String::from_utf8(Command::new("pg_config").arg("--bindir").output()?.stdout)?
            .trim()
            .to_owned();
        let dir = as_postgres("mktemp", &["-d", "/tmp/sm-bench-replica-XXXXXX"])?;
        let cluster = Self {
            bin,
            dir,
            primary_port: free_port()?,
            replica_port: free_port()?,
        };
        let primary = cluster.data("primary");
        as_postgres(
            &cluster.tool("initdb"),
            &["-D", &primary, "-A", "trust", "-U", "postgres", "--no-sync"],
        )?;
        std::fs::OpenOptions::new()
            .append(true)
            .open(format!("{primary}/pg_hba.conf"))?
            .write_all(b"\nhost replication all 127.0.0.1/32 trust\n")?;
        cluster.start_server("primary", cluster.primary_port)?;
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
        )?;
        cluster.start_server("replica", cluster.replica_port)?;
        Ok(cluster)
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

    fn tool(&self, name: &str) -> String {
        format!("{}/{name}", self.bin)
    }

    fn data(&self, name: &str) -> String {
        format!("{}/{name}", self.dir)
    }

    fn start_server(&self, name: &str, port: u16) -> Result<()> {
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=256MB",
            self.dir
        );
        as_postgres(
            &self.tool("pg_ctl"),
            &[
                "-D",
                &self.data(name),
                "-o",
                &options,
                "-l",
                &format!("{}.log", self.data(name)),
                "-w",
                "start",
            ],
        )?;
        Ok(())
    }
}

impl Drop for Replicated {
    fn drop(&mut self) {
        for name in ["replica", "primary"] {
            let _ = as_postgres(
                &self.tool("pg_ctl"),
                &["-D", &self.data(name), "-m", "immediate", "stop"],
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
