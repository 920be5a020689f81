//! Instructions per `GET /api/auth/me`, counted by callgrind: a number that does not move
//! with the machine's load, so a regression on the hot path shows in any run.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::server::ApiProcess;

/// Requests counted (after a warm-up); the API answers them one at a time under valgrind.
const COUNTED: usize = 500;

pub async fn per_me_request(
    api_binary: &Path,
    database_url: &str,
    cookie: &str,
    work_dir: &Path,
) -> Result<f64> {
    let out_prefix = work_dir.join("callgrind.out");
    let wrapper = vec![
        "valgrind".to_owned(),
        "--tool=callgrind".to_owned(),
        format!("--callgrind-out-file={}.%p", out_prefix.display()),
    ];
    let api = ApiProcess::start_under(&wrapper, api_binary, database_url, &[]).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(30))
        .build()?;
    let url = format!("http://127.0.0.1:{}/api/auth/me", api.port);
    let send = async |count: usize| -> Result<()> {
        for _ in 0..count {
            let response = client.get(&url).header("cookie", cookie).send().await?;
            if !response.status().is_success() {
                bail!(
                    "/api/auth/me answered {} under callgrind",
                    response.status()
                );
            }
            let _ = response.bytes().await?;
        }
        Ok(())
    };
    // Warm: connection pools, the lookup batcher, lazily built statics.
    send(100).await?;
    callgrind_control(&["--zero", &api.pid.to_string()]).await?;
    send(COUNTED).await?;
    callgrind_control(&["--dump", &api.pid.to_string()]).await?;
    // The dump just written is the newest file with the prefix.
    let prefix = format!("callgrind.out.{}", api.pid);
    let newest = std::fs::read_dir(work_dir)?
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
        .max_by_key(|entry| entry.metadata().and_then(|meta| meta.modified()).ok())
        .context("callgrind wrote no dump")?;
    let dump = std::fs::read_to_string(newest.path())?;
    let total: f64 = dump
        .lines()
        .find_map(|line| {
            line.strip_prefix("summary: ")
                .or_else(|| line.strip_prefix("totals: "))
        })
        .and_then(|value| value.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .context("no instruction total in the callgrind dump")?;
    drop(api);
    Ok(total / COUNTED as f64)
}

async fn callgrind_control(args: &[&str]) -> Result<()> {
    let output = tokio::process::Command::new("callgrind_control")
        .args(args)
        .output()
        .await
        .context("running callgrind_control (apt-get install valgrind)")?;
    if !output.status.success() {
        bail!(
            "callgrind_control {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // The dump is written by the process being profiled: give it a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(())
}
