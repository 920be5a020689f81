//! Section 8: what a browser downloads for the app's first page, as served (dist/ as
//! scripts/build-frontend leaves it, with brotli), and what it downloads only later (the
//! lazy modules, fetched when a page needs them).

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result};
use api::http::spa::{brotli, with_boot_state};
use shared::{BootState, ClientConfig, LimitPolicy, MailDelivery, SessionProbe};

use crate::{Row, row, verdict};

/// The issue's budget for the first page, brotli as served.
const FIRST_PAGE_BUDGET: u64 = 150 * 1024;

/// What a visitor's document carries under the server's default settings.
fn visitor_boot_state() -> Result<BootState> {
    Ok(BootState {
        config: ClientConfig {
            app_name: api::config::server::DEFAULT_APP_NAME.to_owned(),
            mail_delivery: MailDelivery::Log,
            max_sessions: 2,
            limit_policy: LimitPolicy::Approve,
            fresh_session_secs: 86_400,
            idle_timeout_secs: 3_600,
            approval_ttl_secs: 120,
            password_min: u32::try_from(shared::rules::PASSWORD_MIN)?,
            password_max: u32::try_from(shared::rules::PASSWORD_MAX)?,
            return_to_origins: Vec::new(),
        },
        session: SessionProbe::signed_out(),
    })
}

/// Local files a text names as `/name` or `./name`, quoted or not (the page's links and start
/// script, minified HTML's unquoted attributes, an ES module's imports), when they exist in
/// `dist`.
fn named_files(text: &str, dist: &Path) -> BTreeSet<String> {
    // Every piece between quotes, spaces, `=` and angle brackets (prose never names an
    // existing file exactly).
    text.split(['"', '\'', '=', '<', '>', ' ', '\n', '\t'])
        .filter_map(|piece| piece.strip_prefix("./").or_else(|| piece.strip_prefix('/')))
        .filter(|name| !name.is_empty() && !name.contains('/') && dist.join(name).is_file())
        .map(str::to_owned)
        .collect()
}

/// A file's size as served: its brotli copy when there is one.
fn served_size(dist: &Path, name: &str) -> Result<u64> {
    let compressed = dist.join(format!("{name}.br"));
    let file = if compressed.is_file() {
        compressed
    } else {
        dist.join(name)
    };
    Ok(std::fs::metadata(&file)
        .with_context(|| file.display().to_string())?
        .len())
}

pub fn rows(dist: &Path) -> Result<Vec<Row>> {
    let page = std::fs::read_to_string(dist.join("index.html"))
        .context("dist/index.html (run scripts/build-frontend first)")?;
    // The page, what it names, and what those modules import in turn.
    let mut first_page = BTreeSet::from(["index.html".to_owned()]);
    let mut queue: Vec<String> = named_files(&page, dist).into_iter().collect();
    while let Some(name) = queue.pop() {
        if !first_page.insert(name.clone()) || !name.ends_with(".js") {
            continue;
        }
        // A module's imports load with it; the wasm files it names (the lazy modules, in
        // the split loader) only when called.
        let module = std::fs::read_to_string(dist.join(&name))?;
        queue.extend(
            named_files(&module, dist)
                .into_iter()
                .filter(|imported| imported.ends_with(".js")),
        );
    }
    // The document as the server sends it to a visitor: with its boot state, compressed then.
    let document = std::fs::read(dist.join("index.html"))?;
    let document = with_boot_state(&document, &visitor_boot_state()?)
        .ok()
        .and_then(|document| brotli(&document))
        .context("the document with a boot state")?;
    let mut first_bytes = u64::try_from(document.len())?;
    for name in first_page.iter().filter(|name| *name != "index.html") {
        first_bytes += served_size(dist, name)?;
    }
    let mut lazy = Vec::new();
    for entry in std::fs::read_dir(dist)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".wasm") && !first_page.contains(&name) {
            lazy.push((served_size(dist, &name)?, name));
        }
    }
    lazy.sort();
    let kib = |bytes: u64| format!("{:.1} KiB", bytes as f64 / 1024.0);
    let wasm: Vec<&String> = first_page
        .iter()
        .filter(|name| name.ends_with(".wasm"))
        .collect();
    let mut rows = vec![row(
        "first page (brotli, as served)",
        kib(first_bytes),
        format!(
            "≤ 150 KiB {}: {} files, wasm {}",
            verdict(first_bytes <= FIRST_PAGE_BUDGET),
            first_page.len(),
            wasm.iter()
                .map(|name| name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )];
    let lazy_bytes: u64 = lazy.iter().map(|(bytes, _)| bytes).sum();
    rows.push(row(
        "lazy modules (fetched when a page needs them)",
        kib(lazy_bytes),
        lazy.iter()
            .map(|(bytes, name)| format!("{name} {}", kib(*bytes)))
            .collect::<Vec<_>>()
            .join(", "),
    ));
    Ok(rows)
}
