//! Load generators: wrk (closed loop, many connections) and an in-process latency probe.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

#[derive(Debug, Clone, Copy, Default)]
pub struct Rate {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Responses that were not 2xx, or socket errors.
    pub failures: u64,
}

const WRK_REPORT: &str = r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status + e.connect + e.read + e.write + e.timeout))
end
"#;

/// Runs wrk with a Lua script body (request generation) plus the reporting hook.
pub async fn wrk(
    url: &str,
    connections: usize,
    seconds: u64,
    script: &str,
    work_dir: &Path,
) -> Result<Rate> {
    let script_path = work_dir.join(format!("wrk-{}.lua", uuid::Uuid::new_v4().simple()));
    std::fs::write(&script_path, format!("{script}\n{WRK_REPORT}"))?;
    let output = tokio::process::Command::new("wrk")
        .arg("-t2")
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(&script_path)
        .arg(url)
        .output()
        .await
        .context("running wrk (apt-get install wrk)")?;
    let _ = std::fs::remove_file(&script_path);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(line) = stdout.lines().find(|line| line.starts_with("RESULT ")) else {
        bail!(
            "wrk printed no result: {stdout} {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let numbers: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|n| n.parse().ok())
        .collect();
    let [requests, duration_us, p50_us, p99_us, failures] = numbers[..] else {
        bail!("unexpected wrk result line: {line}");
    };
    Ok(Rate {
        per_second: requests / (duration_us / 1e6),
        p50_ms: p50_us / 1000.0,
        p99_ms: p99_us / 1000.0,
        failures: failures as u64,
    })
}

/// A Lua script that spreads GET requests over the cookies listed in `cookie_file`.
pub fn rotating_cookie_script(path: &str, cookie_file: &Path) -> String {
    format!(
        r#"
local cookies = {{}}
for line in io.lines("{file}") do table.insert(cookies, line) end
local counter = math.random(1, #cookies)
request = function()
  counter = counter + 1
  return wrk.format("GET", "{path}", {{ ["Cookie"] = cookies[(counter % #cookies) + 1] }})
end
"#,
        file = cookie_file.display()
    )
}

/// Latency of sequential requests on one keep-alive connection, at a fixed pace.
pub struct Probe {
    client: reqwest::Client,
    url: String,
    cookie: String,
}

impl Probe {
    pub fn new(url: String, cookie: String) -> Result<Self> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()?;
        Ok(Self {
            client,
            url,
            cookie,
        })
    }

    /// Sends one request every `every` for `total`; returns the latencies.
    pub async fn run(&self, every: Duration, total: Duration) -> Result<Vec<Duration>> {
        let started = Instant::now();
        let mut samples = Vec::new();
        let mut next = Instant::now();
        while started.elapsed() < total {
            tokio::time::sleep_until(next.into()).await;
            next += every;
            let sent = Instant::now();
            let response = self
                .client
                .get(&self.url)
                .header("cookie", &self.cookie)
                .send()
                .await?;
            let ok = response.status().is_success();
            let _ = response.bytes().await?;
            if !ok {
                bail!("probe got a failure from {}", self.url);
            }
            samples.push(sent.elapsed());
        }
        Ok(samples)
    }

    /// `count` back-to-back requests.
    pub async fn burst(&self, url: &str, count: usize) -> Result<Vec<Duration>> {
        let mut samples = Vec::with_capacity(count);
        for _ in 0..count {
            let sent = Instant::now();
            let response = self
                .client
                .get(url)
                .header("cookie", &self.cookie)
                .send()
                .await?;
            if !response.status().is_success() {
                bail!("{url} answered {}", response.status());
            }
            let _ = response.bytes().await?;
            samples.push(sent.elapsed());
        }
        Ok(samples)
    }
}

/// The p-th percentile (0..=100) in milliseconds.
pub fn percentile(samples: &[Duration], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut sorted: Vec<Duration> = samples.to_vec();
    sorted.sort();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len()) - 1)
        .map_or(f64::NAN, |sample| sample.as_secs_f64() * 1000.0)
}
