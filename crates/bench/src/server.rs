//! The API under test runs as its own process (its memory is then its own), next to a bare
//! actix-web handler served from this process for comparison.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use pg_harness::free_port;
use tokio::process::{Child, Command};

pub struct ApiProcess {
    /// Held so the process is killed when this is dropped (kill_on_drop).
    _child: Child,
    pub port: u16,
    pub pid: u32,
}

impl ApiProcess {
    pub async fn start(
        binary: &Path,
        database_url: &str,
        extra_env: &[(&str, String)],
    ) -> Result<Self> {
        Self::start_under(&[], binary, database_url, extra_env).await
    }

    /// The API run by `wrapper` (e.g. valgrind), which must exec it in the same process.
    pub async fn start_under(
        wrapper: &[String],
        binary: &Path,
        database_url: &str,
        extra_env: &[(&str, String)],
    ) -> Result<Self> {
        let port = free_port()?;
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        command
            .env("DATABASE_URL", database_url)
            .env("BIND", "127.0.0.1")
            .env("PORT", port.to_string())
            .env(
                "SESSION_SECRET",
                "3f9c2a7be1d04856c9a1f7e20b6d4c38a5e9f1027bd36c84e0a9f5d21c7b3e96",
            )
            .env("RUST_LOG", "warn")
            .env("METRICS_BIND", "127.0.0.1:0")
            .env("ADMIN_BIND", "off")
            .env("MAX_PENDING_APPROVALS", "3")
            // Section 3 holds thousands of sockets with 64 users' cookies.
            .env("WS_MAX_SOCKETS_PER_USER", "1000000")
            // The approval round trips ask hundreds of times an hour for one account, and the
            // old device answers each over one socket (200 answers in seconds: past the default
            // of 60 a minute, the socket would be closed as a flood in round 61).
            .env("MAX_APPROVAL_REQUESTS_PER_HOUR", "1000000")
            .env("WS_MAX_MESSAGES_PER_MINUTE", "1000000")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (name, value) in extra_env {
            command.env(name, value);
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let pid = child.id().context("the API process has a pid")?;
        let api = Self {
            _child: child,
            port,
            pid,
        };
        let client = reqwest::Client::new();
        // Up to 30 s (10 times that under valgrind).
        let tries = if wrapper.is_empty() { 300 } else { 3000 };
        for _ in 0..tries {
            if client
                .get(format!("http://127.0.0.1:{port}/healthz"))
                .send()
                .await
                .is_ok_and(|response| response.status().is_success())
            {
                return Ok(api);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the API did not become healthy")
    }

    /// Resident memory of the API process, in KiB.
    pub fn rss_kib(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .context("VmRSS in /proc")
    }
}

/// A bare actix-web handler on 2 workers: the HTTP stack's own ceiling on this machine.
pub fn start_bare_server() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        let system = actix_web::rt::System::new();
        let result = system.block_on(async move {
            actix_web::HttpServer::new(|| {
                actix_web::App::new().route(
                    "/",
                    actix_web::web::get().to(|| async { actix_web::HttpResponse::Ok().body("ok") }),
                )
            })
            .workers(2)
            .listen(listener)?
            .run()
            .await
        });
        if let Err(error) = result {
            eprintln!("bare server failed: {error}");
        }
    });
    Ok(port)
}

/// This process's limit on open files (`scripts/bench` raises it to the hard limit; the API
/// process inherits it).
pub fn open_file_limit() -> Option<usize> {
    std::fs::read_to_string("/proc/self/limits")
        .ok()?
        .lines()
        .find(|line| line.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}

/// The stack a Rust user would pick instead: actix-web with actix-session's
/// `RedisSessionStore`, set up as its documentation shows (Redis at 127.0.0.1:6379, a
/// signed-and-encrypted session cookie, the session read from Redis on every request).
/// `POST /login` starts a session; `GET /me` answers the signed-in user as JSON.
pub fn start_redis_session_server() -> Result<u16> {
    use actix_session::storage::RedisSessionStore;
    use actix_session::{Session, SessionMiddleware};
    use actix_web::{App, HttpResponse, HttpServer, cookie::Key, web};

    async fn login(session: Session) -> actix_web::Result<HttpResponse> {
        session.renew();
        session.insert("user_id", uuid::Uuid::new_v4().to_string())?;
        Ok(HttpResponse::Ok().finish())
    }

    async fn me(session: Session) -> actix_web::Result<HttpResponse> {
        Ok(match session.get::<String>("user_id")? {
            Some(user_id) => HttpResponse::Ok().json(serde_json::json!({ "user_id": user_id })),
            None => HttpResponse::Unauthorized().finish(),
        })
    }

    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        let system = actix_web::rt::System::new();
        let result = system.block_on(async move {
            let store = RedisSessionStore::new("redis://127.0.0.1:6379")
                .await
                .map_err(std::io::Error::other)?;
            let key = Key::generate();
            HttpServer::new(move || {
                App::new()
                    .wrap(SessionMiddleware::new(store.clone(), key.clone()))
                    .route("/login", web::post().to(login))
                    .route("/me", web::get().to(me))
            })
            .workers(2)
            .listen(listener)?
            .run()
            .await
        });
        if let Err(error) = result {
            eprintln!("actix-session + Redis server failed: {error}");
        }
    });
    Ok(port)
}

/// Cookies of `count` sessions of the actix-session + Redis server.
pub async fn redis_session_cookies(port: u16, count: usize) -> Result<Vec<String>> {
    let client = reqwest::Client::new();
    let mut cookies = Vec::with_capacity(count);
    for _ in 0..count {
        let response = client
            .post(format!("http://127.0.0.1:{port}/login"))
            .send()
            .await?;
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| value.split(';').next())
            .next()
            .map(str::to_owned)
            .context("the actix-session server set no cookie")?;
        cookies.push(cookie);
    }
    Ok(cookies)
}

/// The Node stack the issue measured logins against: express with express-session and
/// connect-redis, hashing with @node-rs/argon2 (`crates/bench/peers/express-session`,
/// installed by `scripts/bench`). Verifies every login against `password_hash`.
pub struct ExpressPeer {
    /// Held so the process is killed when this is dropped (kill_on_drop).
    _child: Child,
    pub port: u16,
    pub pid: u32,
}

impl ExpressPeer {
    /// `None` when Node or the peer's packages are missing (the bench says so and goes on).
    pub async fn start(password_hash: &str) -> Result<Option<Self>> {
        let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/express-session");
        if !directory.join("node_modules").is_dir() {
            return Ok(None);
        }
        let port = free_port()?;
        let Ok(child) = Command::new("node")
            .arg("server.js")
            .current_dir(&directory)
            .env("PORT", port.to_string())
            .env("PEER_PASSWORD_HASH", password_hash)
            .env("NODE_ENV", "production")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
        else {
            return Ok(None);
        };
        let pid = child.id().context("the peer process has a pid")?;
        let peer = Self {
            _child: child,
            port,
            pid,
        };
        let client = reqwest::Client::new();
        for _ in 0..100 {
            // 401 without a session: the server is up.
            if client
                .get(format!("http://127.0.0.1:{port}/me"))
                .send()
                .await
                .is_ok()
            {
                return Ok(Some(peer));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the express-session peer did not start")
    }
}

/// CPU time the processes have used so far (every thread, from `/proc/<pid>/task/*/schedstat`,
/// in nanoseconds, no clock-tick rounding): the API's by pid, PostgreSQL's by its processes'
/// name. A process that exits in between takes its share with it.
pub fn cpu_time(pids: &[u32]) -> Duration {
    let mut nanoseconds: u64 = 0;
    for pid in pids {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            nanoseconds += std::fs::read_to_string(task.path().join("schedstat"))
                .ok()
                .and_then(|text| text.split_whitespace().next()?.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Duration::from_nanos(nanoseconds)
}

/// The pids of this machine's PostgreSQL processes (server and backends).
pub fn postgres_pids() -> Vec<u32> {
    pids_named("postgres")
}

/// The pids of the processes whose name (`/proc/<pid>/comm`) is `name`.
pub fn pids_named(name: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == name)
        })
        .collect()
}
