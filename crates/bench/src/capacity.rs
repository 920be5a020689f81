//! Section 7: the database cost of each request kind (statements, rows written, WAL bytes,
//! database time per request) and the capacity model's check at two sizes, from
//! `scripts/capacity`, which makes its own PostgreSQL with `pg_stat_statements` loaded (the
//! shared server may not load it). SCALING.md turns these figures into instances, cores,
//! replicas and disk.

use std::path::Path;

use anyhow::{Context, Result, bail};

/// Runs `scripts/capacity` against `api_binary`; its Markdown tables.
pub async fn per_request_kind(api_binary: &Path, quick: bool) -> Result<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/capacity");
    let (requests, sockets) = if quick { ("40", "10") } else { ("200", "50") };
    let output = tokio::process::Command::new("python3")
        .arg(&script)
        .arg("--binary")
        .arg(api_binary)
        .args(["--requests", requests, "--sockets", sockets])
        .output()
        .await
        .with_context(|| format!("running {}", script.display()))?;
    if !output.status.success() {
        bail!(
            "scripts/capacity failed: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8(output.stdout).context("capacity output")?;
    // The tables start at the first Markdown row; progress lines come before.
    let tables = stdout
        .find("| request kind")
        .and_then(|start| stdout.get(start..))
        .context("no table in scripts/capacity's output")?;
    Ok(tables.trim_end().to_owned())
}
