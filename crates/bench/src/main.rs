//! `scripts/bench`: throughput and latency of the hot paths on this machine, beside what
//! the machine itself can do (a bare actix-web handler, `pgbench -S`, one argon2id hash).
//! Everything runs on loopback and every phase is bounded in time.

// Statistics: counts and durations become floats for rates and percentiles.
#![allow(clippy::as_conversions)]

mod app_size;
mod capacity;
mod instructions;
mod load;
mod reads;
mod seed;
mod server;
mod sockets;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use api::model::passwords::{Engine, Verifier};
use load::{Probe, Rate, percentile, rotating_cookie_script, wrk};
use server::ApiProcess;

struct Options {
    seconds: u64,
    sockets: usize,
    quick: bool,
    /// Sections to run (1 to 8); all when empty.
    only: Vec<u8>,
}

impl Options {
    fn parse() -> Result<Self> {
        let mut options = Self {
            seconds: 10,
            sockets: 10_000,
            quick: false,
            only: Vec::new(),
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--seconds" => options.seconds = args.next().context("--seconds N")?.parse()?,
                "--sockets" => options.sockets = args.next().context("--sockets N")?.parse()?,
                "--quick" => options.quick = true,
                "--instructions" => options.only.push(5),
                "--only" => options
                    .only
                    .push(args.next().context("--only 1|2|3|4|5|6|7|8")?.parse()?),
                other => bail!(
                    "unknown argument {other}; use --seconds N, --sockets N, --quick, --only SECTION, --instructions"
                ),
            }
        }
        Ok(options)
    }

    fn runs(&self, section: u8) -> bool {
        self.only.is_empty() || self.only.contains(&section)
    }
}

/// One line of the report.
struct Row {
    measure: String,
    result: String,
    comparison: String,
}

fn row(
    measure: impl Into<String>,
    result: impl Into<String>,
    comparison: impl Into<String>,
) -> Row {
    Row {
        measure: measure.into(),
        result: result.into(),
        comparison: comparison.into(),
    }
}

fn print_table(title: &str, rows: &[Row], report: &mut String) {
    println!("\n{title}");
    report.push_str(&format!(
        "\n### {title}\n\n| measure | result | target / comparison |\n|---|---|---|\n"
    ));
    let width = rows.iter().map(|row| row.measure.len()).max().unwrap_or(0);
    let result_width = rows.iter().map(|row| row.result.len()).max().unwrap_or(0);
    for row in rows {
        println!(
            "  {:width$}  {:result_width$}  {}",
            row.measure, row.result, row.comparison
        );
        report.push_str(&format!(
            "| {} | {} | {} |\n",
            row.measure, row.result, row.comparison
        ));
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "✔" } else { "✘" }
}

fn rate_text(rate: &Rate) -> String {
    format!(
        "{:.0}/s, p50 {:.2} ms, p99 {:.2} ms",
        rate.per_second, rate.p50_ms, rate.p99_ms
    )
}

async fn pgbench(base_url: &str, seconds: u64) -> Result<f64> {
    let admin = format!("{base_url}/postgres");
    seed::recreate_database(&admin, "bench_pgbench").await?;
    let (host, user) = ("127.0.0.1", "postgres");
    let init = tokio::process::Command::new("pgbench")
        .args([
            "-i",
            "-q",
            "-s",
            "10",
            "-h",
            host,
            "-U",
            user,
            "bench_pgbench",
        ])
        .output()
        .await
        .context("running pgbench (PostgreSQL client tools)")?;
    if !init.status.success() {
        bail!(
            "pgbench -i failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );
    }
    let run = tokio::process::Command::new("pgbench")
        .args([
            "-S",
            "-c",
            "64",
            "-j",
            "2",
            "-T",
            &seconds.to_string(),
            "-h",
            host,
            "-U",
            user,
            "bench_pgbench",
        ])
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&run.stdout);
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|tps| tps.parse().ok())
        .with_context(|| format!("pgbench printed no tps: {stdout}"))
}

/// Median time of one argon2id verification with the production parameters, on one thread
/// (median of 15, after a warm-up: single timings vary by 15% on a shared machine), by an
/// engine keeping its memory between hashes as the server's threads do.
fn one_hash_time(engine: Engine, hash: &str) -> Result<Duration> {
    let mut verifier = Verifier::new(engine);
    let mut timings = Vec::new();
    for round in 0..16 {
        let started = Instant::now();
        if !verifier.verify(seed::PASSWORD, hash) {
            bail!("{engine:?} did not verify the seeded hash");
        }
        if round > 0 {
            timings.push(started.elapsed());
        }
    }
    timings.sort();
    timings
        .get(timings.len() / 2)
        .copied()
        .context("at least one timed hash")
}

/// Verifications per second with `threads` threads hashing at once and nothing else running:
/// what the cores really give (argon2id is memory-bound; vCPUs may share a core or caches).
fn parallel_hash_rate(engine: Engine, hash: &str, threads: usize, duration: Duration) -> f64 {
    let started = Instant::now();
    let done: usize = std::thread::scope(|scope| {
        // Collected on purpose: every thread must start before the first is joined.
        #[allow(clippy::needless_collect)]
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut verifier = Verifier::new(engine);
                    let mut count = 0;
                    while started.elapsed() < duration {
                        if verifier.verify(seed::PASSWORD, hash) {
                            count += 1;
                        }
                    }
                    count
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap_or(0))
            .sum()
    });
    done as f64 / started.elapsed().as_secs_f64()
}

/// The memory cost (MiB, t=2, p=1) whose hash with `engine` takes about `budget`: found by
/// scaling (argon2id's time is linear in its memory), then timed once to check.
fn memory_for(engine: Engine, budget: Duration, at_19_mib: Duration) -> Result<(u32, Duration)> {
    let mib = (19.0 * budget.as_secs_f64() / at_19_mib.as_secs_f64()).floor() as u32;
    let params = argon2::Params::new(mib * 1024, 2, 1, None).map_err(|e| anyhow::anyhow!("{e}"))?;
    use argon2::PasswordHasher;
    let hash = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(seed::PASSWORD.as_bytes())
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .to_string();
    let mut verifier = Verifier::new(engine);
    let _ = verifier.verify(seed::PASSWORD, &hash); // warm-up: the memory is mapped once
    let started = Instant::now();
    let _ = verifier.verify(seed::PASSWORD, &hash);
    Ok((mib, started.elapsed()))
}

/// `sm_session=…` from a response's `Set-Cookie` headers (a sign-in also sets the device
/// cookie, which is no session).
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .find(|pair| pair.starts_with("sm_session="))
        .map(str::to_owned)
}

async fn login_cookies(port: u16, users: std::ops::RangeInclusive<i64>) -> Result<Vec<String>> {
    let client = reqwest::Client::new();
    let mut cookies = Vec::new();
    for i in users {
        let response = client
            .post(format!("http://127.0.0.1:{port}/api/auth/login"))
            .json(&serde_json::json!({"email": seed::user_email(i), "password": seed::PASSWORD}))
            .send()
            .await?;
        if response.status() != reqwest::StatusCode::OK {
            bail!("login of user {i} answered {}", response.status());
        }
        cookies.push(session_cookie(&response).context("a session cookie")?);
    }
    Ok(cookies)
}

/// CPU time of a server's processes and of its store's, from the start of a load phase. The
/// store's processes are found by name at both ends: PostgreSQL starts a backend for each
/// connection the server opens meanwhile (its session lookups reconnect after idling).
struct CpuMeter {
    server: Vec<u32>,
    store: &'static str,
    before: (Duration, HashMap<u32, Duration>),
    started: Instant,
}

/// CPU per request of a phase, in microseconds.
struct CpuPerRequest {
    server_us: f64,
    store_us: f64,
}

impl CpuMeter {
    fn start(server: &[u32], store: &'static str) -> Self {
        let store_before = server::pids_named(store)
            .into_iter()
            .map(|pid| (pid, server::cpu_time(&[pid])))
            .collect();
        Self {
            server: server.to_vec(),
            store,
            before: (server::cpu_time(server), store_before),
            started: Instant::now(),
        }
    }

    fn per_request(self, rate: &Rate) -> CpuPerRequest {
        let requests = (rate.per_second * self.started.elapsed().as_secs_f64()).max(1.0);
        let server_spent = server::cpu_time(&self.server).saturating_sub(self.before.0);
        let store_spent: Duration = server::pids_named(self.store)
            .into_iter()
            .map(|pid| {
                let before = self.before.1.get(&pid).copied().unwrap_or_default();
                server::cpu_time(&[pid]).saturating_sub(before)
            })
            .sum();
        let per_request_us = |spent: Duration| 1e6 * spent.as_secs_f64() / requests;
        CpuPerRequest {
            server_us: per_request_us(server_spent),
            store_us: per_request_us(store_spent),
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let options = Options::parse()?;
    let base_url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let work_dir = std::env::temp_dir().join(format!("sm-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work_dir)?;
    let cores = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1);
    let mut report = format!(
        "Machine: {cores} cores; PostgreSQL on 127.0.0.1; wrk -t2; {} s per load phase.\n",
        options.seconds
    );
    println!("{}", report.trim_end());
    let mut failed_sections: Vec<u8> = Vec::new();

    // 8 needs neither the server nor the database.
    if options.only == [8] {
        app_size_section(&mut report, &mut failed_sections);
        return finish(&report, &work_dir, &failed_sections);
    }

    for tool in ["wrk", "pgbench"] {
        if which(tool).is_none() {
            bail!("{tool} is missing: run scripts/bench, which installs it");
        }
    }
    let exe_dir = std::env::current_exe()?
        .parent()
        .map(PathBuf::from)
        .context("binary folder")?;
    let api_binary = exe_dir.join("api");
    if !api_binary.exists() {
        bail!(
            "{} is missing: cargo build --release -p api",
            api_binary.display()
        );
    }

    seed::recreate_database(&format!("{base_url}/postgres"), "bench_sessions").await?;
    let database_url = format!("{base_url}/bench_sessions");
    let api = ApiProcess::start(&api_binary, &database_url, &[]).await?;
    let port = api.port;
    let mut conn = seed::connect(&database_url).await?;

    println!("seeding 100 000 users and 200 000 sessions…");
    let hash = api::model::passwords::hash_password_now(seed::PASSWORD)?;
    seed::users(&mut conn, &hash).await?;
    seed::sessions(&mut conn, 1, 200_000, 50_000).await?;
    // Users 50 001.. have no active session: 64 of them log in for the authenticated load.
    let cookies = login_cookies(port, 50_001..=50_064).await?;
    let cookie_file = work_dir.join("cookies.txt");
    std::fs::write(&cookie_file, cookies.join("\n") + "\n")?;

    // 1. Authenticated requests against the machine's own ceilings.
    if options.runs(1) {
        println!("1/8 authenticated requests…");
        let me_script = rotating_cookie_script("/api/auth/me", &cookie_file);
        // The peer: actix-session + RedisSessionStore, 64 sessions, the same wrk.
        let peer_port = server::start_redis_session_server()?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let peer_cookie_file = work_dir.join("peer-cookies.txt");
        let peer_cookies = server::redis_session_cookies(peer_port, 64).await?;
        std::fs::write(&peer_cookie_file, peer_cookies.join("\n") + "\n")?;
        let peer_script = rotating_cookie_script("/me", &peer_cookie_file);
        // The API and the peer in alternating rounds, each ratio from two phases back to back:
        // this host's speed drifts by a fifth within a minute (BENCHMARKS.md), more than the
        // difference measured. The report is the round with the median ratio.
        let rounds = if options.quick { 1 } else { 3 };
        let me_url = format!("http://127.0.0.1:{port}/api/auth/me");
        let peer_url = format!("http://127.0.0.1:{peer_port}/me");
        let measure_me = async || -> Result<(Rate, CpuPerRequest)> {
            // Where a request's CPU goes: the server's process and its store's (PostgreSQL
            // here, Redis for the peer), read from /proc around each phase.
            let cpu = CpuMeter::start(&[api.pid], "postgres");
            let rate = wrk(&me_url, 64, options.seconds, &me_script, &work_dir).await?;
            Ok((rate, cpu.per_request(&rate)))
        };
        let measure_peer = async || -> Result<(Rate, CpuPerRequest)> {
            // The peer serves from this process's threads (the bench itself waits on wrk).
            let cpu = CpuMeter::start(&[std::process::id()], "redis-server");
            let rate = wrk(&peer_url, 64, options.seconds, &peer_script, &work_dir).await?;
            Ok((rate, cpu.per_request(&rate)))
        };
        let mut verify = None;
        let mut measured = Vec::with_capacity(rounds);
        for round in 0..rounds {
            // The middle round measures the peer first, so that a steady drift of the host
            // leans the rounds' ratios both ways.
            let ((me, me_cpu), (peer, peer_cpu)) = if round % 2 == 1 {
                let peer = measure_peer().await?;
                (measure_me().await?, peer)
            } else {
                let me = measure_me().await?;
                if round + 1 == rounds {
                    // Forward authentication, the check a proxy makes before every request
                    // to an app: right after the /me it is compared with.
                    let rate = wrk(
                        &format!("http://127.0.0.1:{port}/api/auth/verify"),
                        64,
                        options.seconds,
                        &rotating_cookie_script("/api/auth/verify", &cookie_file),
                        &work_dir,
                    )
                    .await?;
                    verify = Some((rate, me.0.per_second));
                }
                (me, measure_peer().await?)
            };
            measured.push((me, me_cpu, peer, peer_cpu));
        }
        let Some((verify, me_beside_verify)) = verify else {
            bail!("section 1 ran no round");
        };
        let ratio = |round: &(Rate, CpuPerRequest, Rate, CpuPerRequest)| {
            round.0.per_second / round.2.per_second
        };
        let ratios: Vec<f64> = measured.iter().map(ratio).collect();
        measured.sort_by(|a, b| ratio(a).total_cmp(&ratio(b)));
        let (me, me_cpu, peer, peer_cpu) = measured.swap_remove(measured.len() / 2);
        let rounds_text = if ratios.len() > 1 {
            let listed: Vec<String> = ratios.iter().map(|r| format!("{r:.2}×")).collect();
            format!(
                " in the median of {} rounds ({})",
                ratios.len(),
                listed.join(", ")
            )
        } else {
            String::new()
        };
        let bare_port = server::start_bare_server()?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let bare = wrk(
            &format!("http://127.0.0.1:{bare_port}/"),
            64,
            options.seconds,
            "",
            &work_dir,
        )
        .await?;
        let pgbench_tps = pgbench(&base_url, options.seconds).await?;
        let sessions_in_table = seed::count(&mut conn, "sessions").await?;
        print_table(
            &format!(
                "1. GET /api/auth/me, 64 connections, {sessions_in_table} sessions of 100 000 users"
            ),
            &[
                row(
                    "API /api/auth/me",
                    rate_text(&me),
                    format!("{} failures", me.failures),
                ),
                row(
                    "API /api/auth/verify (forward auth)",
                    rate_text(&verify),
                    format!(
                        "{} failures; {:.0}% of /api/auth/me just before it (target: the same)",
                        verify.failures,
                        100.0 * verify.per_second / me_beside_verify
                    ),
                ),
                row(
                    "actix-session + RedisSessionStore GET /me",
                    rate_text(&peer),
                    format!(
                        "{} failures; API = {:.2}× it{rounds_text} (target ≥ 1.0×) {}",
                        peer.failures,
                        me.per_second / peer.per_second,
                        verdict(me.per_second >= peer.per_second)
                    ),
                ),
                row(
                    "CPU per request (from /proc)",
                    format!(
                        "API {:.1} µs + PostgreSQL {:.1} µs",
                        me_cpu.server_us, me_cpu.store_us
                    ),
                    format!(
                        "peer {:.1} µs + Redis {:.1} µs: the API's process {:.2}×, its store {:.2}× the peer's",
                        peer_cpu.server_us,
                        peer_cpu.store_us,
                        me_cpu.server_us / peer_cpu.server_us,
                        me_cpu.store_us / peer_cpu.store_us
                    ),
                ),
                row(
                    "bare actix-web handler",
                    rate_text(&bare),
                    format!(
                        "API = {:.0}% of it (target ≥ 60%) {}",
                        100.0 * me.per_second / bare.per_second,
                        verdict(me.per_second >= 0.6 * bare.per_second)
                    ),
                ),
                row(
                    "pgbench -S (PK lookups)",
                    format!("{pgbench_tps:.0}/s"),
                    format!(
                        "API = {:.0}% of it (target ≥ 150%) {}",
                        100.0 * me.per_second / pgbench_tps,
                        verdict(me.per_second >= 1.5 * pgbench_tps)
                    ),
                ),
                row(
                    "API p99 latency",
                    format!("{:.2} ms", me.p99_ms),
                    format!("target < 5 ms {}", verdict(me.p99_ms < 5.0)),
                ),
            ],
            &mut report,
        );
    }

    // 2. Logins: argon2id bounds them by design.
    let probe = Probe::new(
        format!("http://127.0.0.1:{port}/api/auth/me"),
        cookies.first().cloned().unwrap_or_default(),
    )?;
    if options.runs(2) {
        println!("2/8 logins…");
        // The engines side by side on the same hash; the server hashes with `Engine::Simd`.
        let old_engine_time = one_hash_time(Engine::RustCrypto, &hash)?;
        let hash_time_before = one_hash_time(Engine::Simd, &hash)?;
        let parallel_before =
            parallel_hash_rate(Engine::Simd, &hash, cores, Duration::from_secs(3));
        let probe = Probe::new(
            format!("http://127.0.0.1:{port}/api/auth/me"),
            cookies.first().cloned().unwrap_or_default(),
        )?;
        let idle_probe = probe
            .run(Duration::from_millis(10), Duration::from_secs(3))
            .await?;
        let login_script = r#"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local next_thread = 0
setup = function(thread)
  thread:set("first", 50065 + next_thread * 20000)
  next_thread = next_thread + 1
end
local i = 0
request = function()
  i = i + 1
  local body = string.format('{"email":"user%d@bench.test","password":"bench password 1"}', first + i)
  return wrk.format(nil, "/api/auth/login", nil, body)
end
"#;
        let login_url = format!("http://127.0.0.1:{port}/api/auth/login");
        // Where a login's CPU goes, beside the hash: the API's threads and PostgreSQL's
        // processes, read from /proc around the phase (the 100/s probe adds a little).
        let postgres = server::postgres_pids();
        let cpu_before = (server::cpu_time(&[api.pid]), server::cpu_time(&postgres));
        let phase_started = Instant::now();
        let (logins, busy_probe) = tokio::join!(
            wrk(&login_url, 8, options.seconds, login_script, &work_dir),
            probe.run(
                Duration::from_millis(10),
                Duration::from_secs(options.seconds.saturating_sub(1).max(1))
            )
        );
        let (logins, busy_probe) = (logins?, busy_probe?);
        let login_count = (logins.per_second * phase_started.elapsed().as_secs_f64()).max(1.0);
        let per_login_ms = |spent: Duration| 1000.0 * spent.as_secs_f64() / login_count;
        let api_cpu = per_login_ms(server::cpu_time(&[api.pid]).saturating_sub(cpu_before.0));
        let postgres_cpu = per_login_ms(server::cpu_time(&postgres).saturating_sub(cpu_before.1));
        // The machine's speed drifts on a shared host: the ceilings are measured before and
        // after the login phase, and the faster one is the (stricter) yardstick.
        let hash_time = hash_time_before.min(one_hash_time(Engine::Simd, &hash)?);
        let parallel = parallel_before.max(parallel_hash_rate(
            Engine::Simd,
            &hash,
            cores,
            Duration::from_secs(3),
        ));
        let ideal = cores as f64 / hash_time.as_secs_f64();
        let old_engine_time = old_engine_time.min(one_hash_time(Engine::RustCrypto, &hash)?);
        let (affordable_mib, affordable_time) =
            memory_for(Engine::Simd, old_engine_time, hash_time)?;
        // The Node stack the issue measured: the same hash, the same connections and time.
        let express_logins = match server::ExpressPeer::start(&hash).await? {
            Some(peer) => {
                let script = login_script.replace("/api/auth/login", "/login");
                let url = format!("http://127.0.0.1:{}/login", peer.port);
                let redis = server::pids_named("redis-server");
                let before = (server::cpu_time(&[peer.pid]), server::cpu_time(&redis));
                let started = Instant::now();
                let rate = wrk(&url, 8, options.seconds, &script, &work_dir).await?;
                let count = (rate.per_second * started.elapsed().as_secs_f64()).max(1.0);
                let per_login_ms = |spent: Duration| 1000.0 * spent.as_secs_f64() / count;
                let node_cpu = per_login_ms(server::cpu_time(&[peer.pid]).saturating_sub(before.0));
                let redis_cpu = per_login_ms(server::cpu_time(&redis).saturating_sub(before.1));
                Some((rate, node_cpu, redis_cpu))
            }
            None => None,
        };
        let express_row = match &express_logins {
            Some((peer, node_cpu, redis_cpu)) => row(
                "express-session + connect-redis logins (@node-rs/argon2, the same hash), 8 connections",
                rate_text(peer),
                format!(
                    "{} failures; API = {:.2}× it (target ≥ 1.0×) {}; CPU per login: Node {node_cpu:.2} ms, Redis {redis_cpu:.2} ms",
                    peer.failures,
                    logins.per_second / peer.per_second,
                    verdict(logins.per_second >= peer.per_second)
                ),
            ),
            None => row(
                "express-session + connect-redis logins",
                "not measured",
                "needs Node.js and `npm ci` in crates/bench/peers/express-session (scripts/bench does it)",
            ),
        };
        print_table(
            "2. POST /api/auth/login (argon2id m=19 MiB, t=2, p=1), 8 connections",
            &[
                row(
                    "one hash, one thread: argon2 0.6 (memory reused)",
                    format!("{:.1} ms", old_engine_time.as_secs_f64() * 1000.0),
                    "the engine until now",
                ),
                row(
                    "one hash, one thread: argon2-rust (runtime SIMD)",
                    format!("{:.1} ms", hash_time.as_secs_f64() * 1000.0),
                    format!(
                        "{:.1}× faster; the server's engine; ideal {cores} cores / hash = {ideal:.0} logins/s",
                        old_engine_time.as_secs_f64() / hash_time.as_secs_f64()
                    ),
                ),
                row(
                    "one hash: argon2 0.6 with target-cpu=native",
                    "not in this binary",
                    "needs its own build (RUSTFLAGS=\"-C target-cpu=native\"); 17 ms against 24.6 ms here on 2026-12-02",
                ),
                row(
                    format!("{cores} threads hashing (argon2-rust), nothing else running"),
                    format!("{parallel:.0}/s"),
                    format!(
                        "{:.0}% of ideal: the engine's {cores}-thread ceiling",
                        100.0 * parallel / ideal
                    ),
                ),
                row(
                    "logins",
                    rate_text(&logins),
                    format!(
                        "{:.0}% of the {cores}-thread ceiling (target ≥ 90%) {}; {:.0}% of ideal; {} failures",
                        100.0 * logins.per_second / parallel,
                        verdict(logins.per_second >= 0.9 * parallel),
                        100.0 * logins.per_second / ideal,
                        logins.failures
                    ),
                ),
                express_row,
                row(
                    "CPU per login (from /proc)",
                    format!("API {api_cpu:.2} ms, PostgreSQL {postgres_cpu:.2} ms"),
                    format!(
                        "a hash at the ceiling is {:.2} ms of CPU; 90% of the ceiling leaves {:.2} ms per login for all the rest (the API's own work, PostgreSQL, wrk, the kernel)",
                        1000.0 * cores as f64 / parallel,
                        1000.0 * cores as f64 * (1.0 / (0.9 * parallel) - 1.0 / parallel)
                    ),
                ),
                row(
                    "argon2id cost at the old engine's latency",
                    format!(
                        "m={affordable_mib} MiB, t=2, p=1: {:.1} ms",
                        affordable_time.as_secs_f64() * 1000.0
                    ),
                    format!(
                        "what argon2-rust affords in the {:.1} ms one argon2 0.6 hash took (now m=19 MiB)",
                        old_engine_time.as_secs_f64() * 1000.0
                    ),
                ),
                row(
                    "/api/auth/me alone, 100/s",
                    format!(
                        "p50 {:.2} ms, p99 {:.2} ms",
                        percentile(&idle_probe, 50.0),
                        percentile(&idle_probe, 99.0)
                    ),
                    "",
                ),
                row(
                    "/api/auth/me during logins, 100/s",
                    format!(
                        "p50 {:.2} ms, p99 {:.2} ms",
                        percentile(&busy_probe, 50.0),
                        percentile(&busy_probe, 99.0)
                    ),
                    format!(
                        "target p99 < 10 ms {}",
                        verdict(percentile(&busy_probe, 99.0) < 10.0)
                    ),
                ),
            ],
            &mut report,
        );
    }

    // 3. WebSockets.
    if options.runs(3) {
        // Each socket is a file in both processes; leave room for everything else.
        let file_limit = server::open_file_limit().unwrap_or(1024);
        let socket_count = options.sockets.min(file_limit.saturating_sub(500));
        if socket_count < options.sockets {
            println!(
                "  {} sockets asked, {socket_count} possible: the open-file limit is {file_limit} and cannot be raised here",
                options.sockets
            );
        }
        println!("3/8 {socket_count} sockets…");
        let rss_before = api.rss_kib()?;
        let opened = Instant::now();
        let held = sockets::hold(port, &cookies, socket_count).await?;
        let open_time = opened.elapsed();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let rss_after = api.rss_kib()?;
        let per_socket = (rss_after.saturating_sub(rss_before)) as f64 / socket_count as f64;
        let rounds = if options.quick { 50 } else { 200 };
        let round_trips = sockets::approval_round_trips(port, port, rounds).await?;
        let p99_round_trip = percentile(&round_trips, 99.0);
        // A second instance on the same database: the devices on different instances.
        let second = ApiProcess::start(&api_binary, &database_url, &[]).await?;
        let across = sockets::approval_round_trips(port, second.port, rounds).await?;
        let p99_across = percentile(&across, 99.0);
        let bus_events = if options.quick { 5_000 } else { 50_000 };
        let bus_rate = sockets::bus_events_per_second(
            second.port,
            &database_url,
            cookies.first().map(String::as_str).unwrap_or_default(),
            bus_events,
        )
        .await?;
        drop(second);
        print_table(
            "3. WebSockets",
            &[
                row(
                    format!("{} authenticated sockets held", held.len()),
                    format!("opened in {:.1} s", open_time.as_secs_f64()),
                    format!(
                        "server RSS {} → {} MiB",
                        rss_before / 1024,
                        rss_after / 1024
                    ),
                ),
                row(
                    "memory per socket",
                    format!("{per_socket:.1} KiB"),
                    format!(
                        "target ≤ 10 KiB {}; {} of 100 000 sockets held (target 100 000 {})",
                        verdict(per_socket <= 10.0),
                        held.len(),
                        verdict(held.len() >= 100_000)
                    ),
                ),
                row(
                    format!(
                        "approval round trip ({} rounds, sockets held)",
                        round_trips.len()
                    ),
                    format!(
                        "p50 {:.2} ms, p99 {:.2} ms",
                        percentile(&round_trips, 50.0),
                        p99_round_trip
                    ),
                    format!("target p99 < 20 ms {}", verdict(p99_round_trip < 20.0)),
                ),
                row(
                    format!(
                        "approval round trip across two instances ({} rounds)",
                        across.len()
                    ),
                    format!(
                        "p50 {:.2} ms, p99 {:.2} ms",
                        percentile(&across, 50.0),
                        p99_across
                    ),
                    format!("target p99 < 20 ms {}", verdict(p99_across < 20.0)),
                ),
                row(
                    format!("events through the PostgreSQL bus ({bus_events})"),
                    format!("{bus_rate:.0} events/s"),
                    "published with pg_notify, heard on a socket of the other instance",
                ),
            ],
            &mut report,
        );
        drop(held);
    }

    // 4. Growth.
    if options.runs(4) {
        println!("4/8 growth…");
        diesel_async::RunQueryDsl::execute(
        diesel::sql_query("DELETE FROM sessions WHERE user_agent LIKE 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0'"),
        &mut conn,
    )
    .await?;
        let mut rows = Vec::new();
        let mut seeded = 0;
        let sizes: &[i64] = if options.quick {
            &[1_000, 100_000]
        } else {
            &[1_000, 100_000, 1_000_000]
        };
        for &size in sizes {
            let present = seed::count(&mut conn, "sessions").await?;
            let wanted = size - present;
            if wanted > 0 {
                seed::sessions(&mut conn, seeded + 1, seeded + wanted, 0).await?;
                seeded += wanted;
            }
            let samples = probe
                .burst(&format!("http://127.0.0.1:{port}/api/auth/me"), 2000)
                .await?;
            rows.push(row(
                format!(
                    "session check, {} sessions",
                    seed::count(&mut conn, "sessions").await?
                ),
                format!(
                    "p50 {:.2} ms, p99 {:.2} ms",
                    percentile(&samples, 50.0),
                    percentile(&samples, 99.0)
                ),
                "1 connection, 2000 requests",
            ));
        }
        let history_length = if options.quick { 20_000 } else { 100_000 };
        let probe_user = seed::user_id(&mut conn, 50_001).await?;
        seed::long_history(&mut conn, probe_user, history_length).await?;
        for depth in [0, 1_000, history_length / 2, history_length - 100] {
            let url = if depth == 0 {
                format!("http://127.0.0.1:{port}/api/sessions/history?limit=20")
            } else {
                let cursor = seed::history_cursor(&mut conn, probe_user, depth).await?;
                format!("http://127.0.0.1:{port}/api/sessions/history?limit=20&cursor={cursor}")
            };
            let samples = probe.burst(&url, 300).await?;
            rows.push(row(
                format!("history page of 20 at depth {depth} of {history_length}"),
                format!(
                    "p50 {:.2} ms, p99 {:.2} ms",
                    percentile(&samples, 50.0),
                    percentile(&samples, 99.0)
                ),
                "keyset paging",
            ));
        }
        print_table("4. Growth (latency should stay flat)", &rows, &mut report);
    }

    // 5. Instructions per request: stable whatever the machine's noise.
    if options.runs(5) {
        println!("5/8 instructions per /api/auth/me (callgrind)…");
        let per_request = instructions::per_me_request(
            &api_binary,
            &database_url,
            cookies.first().map(String::as_str).unwrap_or_default(),
            &work_dir,
        )
        .await?;
        print_table(
            "5. Instructions per GET /api/auth/me (valgrind --tool=callgrind, the API process)",
            &[row(
                "instructions per request",
                format!("{per_request:.0}"),
                "sequential requests on one connection, after a warm-up; record in BENCHMARKS.md",
            )],
            &mut report,
        );
    }

    // 6. Reads that tolerate lag, from a streaming replica and from the primary.
    if options.runs(6) {
        let rows = if options.quick { 100_000 } else { 1_000_000 };
        println!("6/8 a history of {rows} sessions from a replica and from the primary…");
        let hash = api::model::passwords::hash_password_now(seed::PASSWORD)?;
        let table = reads::history_from_replica(&api_binary, &hash, rows).await?;
        print_table(
            "6. Session history from a streaming replica and from the primary (same database, same pages)",
            &table,
            &mut report,
        );
    }

    // 7. What each request kind costs the database, for SCALING.md's capacity model.
    if options.runs(7) {
        println!("7/8 database cost per request kind (scripts/capacity)…");
        let title = "7. Database cost per request kind, and the model checked at two sizes";
        // A failure here is reported and the run goes on: the other sections' report is
        // still written (and the bench exits non-zero at the end).
        let tables = match capacity::per_request_kind(&api_binary, options.quick).await {
            Ok(tables) => tables,
            Err(error) => {
                failed_sections.push(7);
                format!("✘ not measured: {error:#}")
            }
        };
        println!("\n{title}\n{tables}");
        report.push_str(&format!("\n### {title}\n\n{tables}\n"));
    }

    if options.runs(8) {
        app_size_section(&mut report, &mut failed_sections);
    }
    finish(&report, &work_dir, &failed_sections)
}

/// 8. The app as a browser downloads it.
fn app_size_section(report: &mut String, failed_sections: &mut Vec<u8>) {
    let title = "8. The app's first page as served (dist/, brotli)";
    match app_size::rows(std::path::Path::new("dist")) {
        Ok(rows) => print_table(title, &rows, report),
        Err(error) => {
            failed_sections.push(8);
            println!("\n{title}\n✘ not measured: {error:#}");
            report.push_str(&format!("\n### {title}\n\n✘ not measured: {error:#}\n"));
        }
    }
}

fn finish(report: &str, work_dir: &std::path::Path, failed_sections: &[u8]) -> Result<()> {
    let report_path = PathBuf::from("target/bench-results.md");
    std::fs::write(&report_path, report)?;
    println!("\nreport written to {}", report_path.display());
    let _ = std::fs::remove_dir_all(work_dir);
    if !failed_sections.is_empty() {
        bail!("section(s) {failed_sections:?} failed (see above)");
    }
    Ok(())
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| PathBuf::from(dir).join(tool))
        .find(|candidate| candidate.exists())
}
