//! The SPA in headless Chromium: three browser profiles act as three devices.
//! Needs the built frontend (`dist/`, made by `scripts/test`) and chromedriver.
//! Screenshots of each screen land in `screenshots/` for review.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::*;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct ChromeDriver {
    process: Child,
    port: u16,
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

async fn start_chromedriver() -> ChromeDriver {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let binary = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let process = Command::new(&binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| {
            panic!("cannot start {binary} ({error}); run scripts/test, which installs it")
        });
    let driver = ChromeDriver { process, port };
    for _ in 0..100 {
        if reqwest::get(format!("http://127.0.0.1:{port}/status"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

/// A browser with its own fresh profile: one device.
async fn browser(driver: &ChromeDriver, profile: &Path, width: u32, height: u32) -> Client {
    let mut args = vec![
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        format!("--window-size={width},{height}"),
        format!("--user-data-dir={}", profile.display()),
    ];
    args.push("--lang=en-GB".to_owned());
    let mut options = json!({ "args": args });
    let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if Path::new(&binary).exists() {
        options["binary"] = json!(binary);
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), options);
    ClientBuilder::native()
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session starts")
}

async fn screenshot(client: &Client, name: &str) {
    let folder = workspace_root().join("screenshots");
    std::fs::create_dir_all(&folder).unwrap();
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(folder.join(format!("{name}.png")), png).unwrap();
}

async fn wait_for(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("{css} never appeared: {error}"))
}

async fn wait_for_text(client: &Client, css: &str, needle: &str) {
    let mut last = String::new();
    for _ in 0..200 {
        if let Ok(element) = client.find(Locator::Css(css)).await
            && let Ok(text) = element.text().await
        {
            if text.contains(needle) {
                return;
            }
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never said {needle:?}; last text: {last:?}");
}

async fn count(client: &Client, css: &str) -> usize {
    client
        .find_all(Locator::Css(css))
        .await
        .map(|found| found.len())
        .unwrap_or(0)
}

async fn wait_for_count(client: &Client, css: &str, expected: usize) {
    for _ in 0..200 {
        if count(client, css).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{css}: expected {expected}, found {}",
        count(client, css).await
    );
}

async fn fill(client: &Client, css: &str, text: &str) {
    let input = wait_for(client, css).await;
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
}

async fn click(client: &Client, css: &str) {
    wait_for(client, css).await.click().await.unwrap();
}

async fn log_in(client: &Client, url: &str, email: &str) {
    client.goto(url).await.unwrap();
    wait_for(client, "#login-form").await;
    fill(client, "#login-email", email).await;
    fill(client, "#login-password", PASSWORD).await;
    click(client, "#login-form button[type=submit]").await;
}

#[tokio::test]
async fn three_devices_in_real_browsers_sign_up_approve_get_refused_and_revoke() {
    let dist = workspace_root().join("dist");
    assert!(
        dist.join("index.html").exists(),
        "the frontend is not built: run scripts/test (or scripts/build-frontend) first"
    );
    let app = spawn_app_with(|settings| settings.static_dir = Some(dist)).await;
    let url = format!("http://127.0.0.1:{}/", app.port);
    let driver = start_chromedriver().await;
    let profiles = tempfile_dir();
    let device1 = browser(&driver, &profiles.join("device1"), 1280, 900).await;
    let device2 = browser(&driver, &profiles.join("device2"), 1280, 900).await;
    let device3 = browser(&driver, &profiles.join("device3"), 390, 844).await;

    // Device 1 signs up.
    device1.goto(&url).await.unwrap();
    wait_for(&device1, "#login-form").await;
    screenshot(&device1, "01-login").await;
    click(&device1, "#to-signup").await;
    wait_for(&device1, "#signup-form").await;
    // Inline validation before the server is asked.
    fill(&device1, "#signup-password", "short").await;
    wait_for_text(&device1, "#signup-password-error", "At least 8 characters").await;
    fill(&device1, "#signup-name", "Ada Lovelace").await;
    fill(&device1, "#signup-email", "ada@example.com").await;
    fill(&device1, "#signup-password", PASSWORD).await;
    screenshot(&device1, "02-signup").await;
    click(&device1, "#signup-form button[type=submit]").await;
    wait_for(&device1, "#dashboard").await;
    wait_for_text(&device1, "#user-name", "Ada Lovelace").await;
    wait_for_count(&device1, "#active-sessions li.session", 1).await;
    screenshot(&device1, "03-dashboard-device1").await;

    // Device 2 asks, then thinks better of it: device 1's prompt comes and goes, live.
    log_in(&device2, &url, "ada@example.com").await;
    wait_for(&device2, "#approval-code").await;
    wait_for(&device1, "#approval-prompt").await;
    click(&device2, "#back-to-login").await;
    wait_for(&device2, "#login-form").await;
    wait_for_count(&device1, "#approval-prompt", 0).await;

    // Device 2 logs in again and is shown a code.
    log_in(&device2, &url, "ada@example.com").await;
    let code = wait_for(&device2, "#approval-code")
        .await
        .attr("data-code")
        .await
        .unwrap()
        .expect("a code");
    assert_eq!(code.len(), 6);
    wait_for_text(&device2, "#waiting-status", "Waiting for approval").await;
    screenshot(&device2, "04-device2-shows-code").await;

    // Device 1 is prompted live; a wrong code first, then the right one.
    wait_for(&device1, "#approval-prompt").await;
    wait_for_text(&device1, "#approval-prompt", "Chrome").await;
    screenshot(&device1, "05-device1-prompt").await;
    let wrong = format!("{}{}", (code.as_bytes()[0] - b'0' + 1) % 10, &code[1..]);
    fill(&device1, "#approval-code-input", &wrong).await;
    click(&device1, "#approve-button").await;
    wait_for_text(&device1, "#approval-error", "4 tries left").await;
    screenshot(&device1, "06-device1-wrong-code").await;
    fill(&device1, "#approval-code-input", &code).await;
    click(&device1, "#approve-button").await;

    // Device 2 goes straight into its dashboard.
    wait_for(&device2, "#dashboard").await;
    wait_for_count(&device2, "#active-sessions li.session", 2).await;
    wait_for_count(&device2, "#active-sessions li.session.current", 1).await;
    screenshot(&device2, "07-device2-dashboard").await;

    // Device 3 (a phone-sized window) is refused.
    log_in(&device3, &url, "ada@example.com").await;
    wait_for_text(&device3, "#login-error", "Already 2 sessions active").await;
    screenshot(&device3, "08-device3-refused-phone").await;

    // Device 1 sees both sessions live and revokes device 2.
    wait_for_count(&device1, "#active-sessions li.session", 2).await;
    assert_eq!(
        count(&device1, "#approval-prompt").await,
        0,
        "the prompt closed"
    );
    screenshot(&device1, "09-device1-two-sessions").await;
    click(
        &device1,
        "#active-sessions li.session:not(.current) button.revoke",
    )
    .await;

    // Device 2 lands on the login page by itself, told why.
    wait_for(&device2, "#login-form").await;
    wait_for_text(&device2, "#signed-out-notice", "revoked").await;
    screenshot(&device2, "10-device2-revoked").await;
    wait_for_count(&device1, "#active-sessions li.session", 1).await;
    wait_for_text(&device1, "#session-log", "Revoked").await;
    screenshot(&device1, "11-device1-session-log").await;

    for client in [device1, device2, device3] {
        let _ = client.close().await;
    }
    let _ = std::fs::remove_dir_all(&profiles);
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sm-browser-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
