//! The SPA in headless Chromium: three browser profiles act as three devices.
//! Needs the built frontend (`dist/`, made by `scripts/test`) and chromedriver.
//! Screenshots of each screen land in `screenshots/` for review.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::support::*;

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
        // The browsers in a zone half an hour off UTC (as the machine's is not): a time shown
        // in UTC, or with its offset the wrong way round, fails the test of dates.
        .env("TZ", "Asia/Kolkata")
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

/// An instance serves the app as `scripts/build-frontend` built it (`dist/`).
fn serve_the_built_app(settings: &mut api::config::Settings) {
    settings.server.static_dir = Some(workspace_root().join("dist"));
}

fn page_url(app: &TestApp) -> String {
    format!("http://127.0.0.1:{}/", app.port)
}

/// What every scenario sets up for its browsers: chromedriver, a folder for their fresh
/// profiles (removed when the scenario ends) and the prefix of its screenshots' names.
struct Browsers {
    driver: ChromeDriver,
    profiles: PathBuf,
}

impl Browsers {
    async fn start(shots: &str) -> Self {
        SHOTS_PREFIX.with(|prefix| *prefix.borrow_mut() = shots.to_owned());
        Self {
            driver: start_chromedriver().await,
            profiles: tempfile_dir(),
        }
    }

    /// One device: a browser with a fresh profile of its own.
    async fn open(&self, device: &str, width: u32, height: u32) -> Client {
        browser_as(
            &self.driver,
            &self.profiles.join(device),
            width,
            height,
            None,
        )
        .await
    }

    /// A device whose browser reports another user agent (another device, as the server sees it).
    async fn open_as(&self, device: &str, width: u32, height: u32, user_agent: &str) -> Client {
        browser_as(
            &self.driver,
            &self.profiles.join(device),
            width,
            height,
            Some(user_agent),
        )
        .await
    }
}

impl Drop for Browsers {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.profiles);
    }
}

/// A browser with its own fresh profile, reporting `user_agent` if given.
async fn browser_as(
    driver: &ChromeDriver,
    profile: &Path,
    width: u32,
    height: u32,
    user_agent: Option<&str>,
) -> Client {
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
    if let Some(user_agent) = user_agent {
        args.push(format!("--user-agent={user_agent}"));
    }
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
    let name = SHOTS_PREFIX.with(|prefix| format!("{}{name}", prefix.borrow()));
    let folder = workspace_root().join("screenshots");
    std::fs::create_dir_all(&folder).unwrap();
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(folder.join(format!("{name}.png")), png).unwrap();
}

async fn wait_for(client: &Client, css: &str) -> fantoccini::elements::Element {
    match client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(element) => element,
        Err(error) => fail(client, &format!("{css} never appeared: {error}")).await,
    }
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
    fail(
        client,
        &format!("{css} never said {needle:?}; last text: {last:?}"),
    )
    .await
}

/// Fails the test with what the page showed then (its URL and text, and a screenshot
/// `failed-….png`): a browser test that fails on CI only must say why in the log.
async fn fail(client: &Client, what: &str) -> ! {
    let url = client
        .current_url()
        .await
        .map(|url| url.to_string())
        .unwrap_or_default();
    let text: String = match client.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let text: String = text.chars().take(1500).collect();
    screenshot(client, &format!("failed-{}", uuid::Uuid::new_v4().simple())).await;
    panic!("{what}\n  page: {url}\n  text: {text:?}");
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
    let found = count(client, css).await;
    fail(
        client,
        &format!("{css}: expected {expected}, found {found}"),
    )
    .await
}

/// Whether the field says it is invalid (`aria-invalid`, which the style outlines).
async fn assert_invalid(client: &Client, css: &str, invalid: bool) {
    let marked = wait_for(client, css)
        .await
        .attr("aria-invalid")
        .await
        .unwrap()
        .unwrap_or_default();
    if marked != invalid.to_string() {
        fail(client, &format!("{css}: aria-invalid is {marked:?}")).await;
    }
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

/// Whether `program` can be started (found on PATH or at that path).
fn runnable(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Why the browser test cannot run here, if it cannot. `scripts/test` builds the app and
/// installs Chromium, and sets `REQUIRE_BROWSER_TEST` so that CI fails instead of skipping.
fn browser_test_prerequisites() -> Option<String> {
    let mut missing = Vec::new();
    if !workspace_root().join("dist/index.html").exists() {
        missing.push("the built app (dist/index.html; scripts/build-frontend makes it)".to_owned());
    }
    let driver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    if !runnable(&driver) {
        missing.push(format!("{driver} (Debian's chromium-driver)"));
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() && !runnable("chromium") {
        missing.push(format!("{chromium} (Debian's chromium)"));
    }
    if missing.is_empty() {
        return None;
    }
    let reason = format!("missing {}", missing.join(", "));
    assert!(
        std::env::var_os("REQUIRE_BROWSER_TEST").is_none(),
        "the browser test must run but is {reason}"
    );
    Some(reason)
}

/// Skips the calling test with a clear message when the browser test cannot run here.
macro_rules! require_browser {
    () => {
        if let Some(reason) = browser_test_prerequisites() {
            eprintln!("SKIPPED: browser test: {reason}; run scripts/test for the full suite");
            return;
        }
    };
}

#[tokio::test]
async fn three_devices_in_real_browsers_sign_up_approve_get_refused_and_revoke() {
    require_browser!();
    let app = spawn_app_with(serve_the_built_app).await;
    let url = page_url(&app);
    three_devices(&url, "").await;
    assert_no_csp_violations(&app).await;
}

/// The app runs under its strict Content-Security-Policy: the browsers reported nothing.
async fn assert_no_csp_violations(app: &TestApp) {
    // Reports are sent in the background: give the last ones a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reports = app
        .state
        .csp_reports
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        reports, 0,
        "the browsers reported CSP violations (see the log)"
    );
}

/// `scripts/cluster`: nginx in front of two instances, each request and socket of a device
/// landing on either.
struct Cluster {
    script: Child,
    port: u16,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The script stops its instances and nginx when it is told to stop.
        let _ = Command::new("kill")
            .args(["-TERM", &self.script.id().to_string()])
            .status();
        let _ = self.script.wait();
    }
}

/// Where `scripts/cluster --instances 2 --port P` listens, as offsets from P: nginx, the two
/// instances, the sample app (P+99), metrics (P+101, P+102), admin (P+201, P+202) and
/// PgBouncer (P+300).
const CLUSTER_PORT_OFFSETS: [u16; 9] = [0, 1, 2, 99, 101, 102, 201, 202, 300];

/// A port P such that every port the cluster takes from it is free now (checking only the
/// first three once let the sample app find its port taken by another test's listener).
fn free_cluster_port() -> u16 {
    for _ in 0..100 {
        let base = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if base < 65_000
            && CLUSTER_PORT_OFFSETS
                .iter()
                .all(|offset| TcpListener::bind(("127.0.0.1", base + offset)).is_ok())
        {
            return base;
        }
    }
    panic!("no free ports for a cluster");
}

async fn start_cluster(database: &TestDatabase) -> Cluster {
    let port = free_cluster_port();
    let script = Command::new(workspace_root().join("scripts/cluster"))
        .args(["--instances", "2", "--port", &port.to_string()])
        .args(["--binary", env!("CARGO_BIN_EXE_api")])
        .args(["--database-url", &database.url])
        .args([
            "--static-dir",
            &workspace_root().join("dist").display().to_string(),
        ])
        .env(
            "CLUSTER_DIR",
            std::env::temp_dir().join(format!("sm-cluster-{port}")),
        )
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("scripts/cluster starts");
    let cluster = Cluster { script, port };
    for _ in 0..300 {
        if reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
            .await
            .is_ok_and(|response| response.status().is_success())
        {
            return cluster;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the cluster never became ready");
}

#[tokio::test]
async fn the_same_three_devices_through_the_load_balancer_of_two_instances() {
    require_browser!();
    if !runnable("nginx") && !Path::new("/usr/sbin/nginx").exists() {
        assert!(
            std::env::var_os("REQUIRE_BROWSER_TEST").is_none(),
            "nginx is missing (Debian's nginx-light; scripts/test installs it)"
        );
        eprintln!("SKIPPED: cluster browser test: nginx is missing; run scripts/test");
        return;
    }
    let database = TestDatabase::create().await;
    let cluster = start_cluster(&database).await;
    three_devices(&format!("http://127.0.0.1:{}/", cluster.port), "cluster-").await;
}

/// Three browsers as three devices: sign-up, approval of the second, refusal of the third,
/// revocation. `shots` prefixes the screenshots' names.
async fn three_devices(url: &str, shots: &str) {
    let url = url.to_owned();
    let browsers = Browsers::start(shots).await;
    let device1 = browsers.open("device1", 1280, 900).await;
    let device2 = browsers.open("device2", 1280, 900).await;
    let device3 = browsers.open("device3", 390, 844).await;

    // Device 1 signs up. The sign-in page names the app and says how devices get in.
    device1.goto(&url).await.unwrap();
    wait_for(&device1, "#login-form").await;
    wait_for_text(&device1, "#app-name", "Session Manager").await;
    wait_for_text(&device1, "#policy-hint", "signed in on 2 devices at a time").await;
    wait_for_text(&device1, "#policy-hint", "type its code on a device").await;
    assert_eq!(device1.title().await.unwrap(), "Sign in · Session Manager");
    screenshot(&device1, "01-login").await;
    click(&device1, "#to-signup").await;
    wait_for(&device1, "#signup-form").await;
    // Pages have URLs: Back and Forward move between them.
    assert!(
        device1
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/signup")
    );
    device1.back().await.unwrap();
    wait_for(&device1, "#login-form").await;
    device1.forward().await.unwrap();
    wait_for(&device1, "#signup-form").await;
    // Inline validation before the server is asked: one message under the field, which
    // is marked invalid.
    wait_for_text(&device1, "#signup-password-hint", "hard to guess").await;
    fill(&device1, "#signup-password", "short").await;
    wait_for_text(&device1, "#signup-password-error", "At least 8 characters").await;
    assert_invalid(&device1, "#signup-password", true).await;
    fill(&device1, "#signup-name", "Ada Lovelace").await;
    fill(&device1, "#signup-email", "ada@example.com").await;
    // A guessable password: the meter's advice is the field's one message, said once.
    fill(&device1, "#signup-password", "password1234").await;
    wait_for_text(&device1, "#signup-password-error", "too easy to guess").await;
    wait_for_text(&device1, "#password-strength", "Strength").await;
    let page = wait_for(&device1, "#signup-form")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(page.matches("too easy to guess").count(), 1, "{page}");
    fill(&device1, "#signup-password", PASSWORD).await;
    wait_for_text(&device1, "#password-strength", "Strength").await;
    wait_for_count(&device1, "#signup-password[aria-invalid=true]", 0).await;
    screenshot(&device1, "02-signup").await;
    click(&device1, "#signup-form button[type=submit]").await;
    wait_for(&device1, "#dashboard").await;
    wait_for_text(&device1, "#user-name", "Ada Lovelace").await;
    wait_for_text(&device1, "#app-name", "Session Manager").await;
    // No SMTP server here: nothing was mailed, and the banner says where the link is.
    wait_for_text(&device1, "#verify-banner", "the link is in the server log").await;
    wait_for_count(&device1, "#active-sessions li.session", 1).await;
    // Times are the browser's wall clock: what its own local-time getters say for now (or a
    // minute ago, should the minute have turned since the sign-up).
    let signed_in = device1
        .find(Locator::Css("#active-sessions li.session .small"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let wall_clock: Vec<String> = serde_json::from_value(
        device1
            .execute(
                "const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
                 const two = n => String(n).padStart(2, '0');
                 return [0, 60000].map(ago => new Date(Date.now() - ago)).map(d =>
                     `${d.getDate()} ${months[d.getMonth()]} ${d.getFullYear()}, ${two(d.getHours())}:${two(d.getMinutes())}`);",
                vec![],
            )
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(
        wall_clock
            .iter()
            .any(|now| signed_in.starts_with(&format!("Signed in {now} · last active"))),
        "{signed_in:?} is not the browser's wall clock {wall_clock:?}"
    );
    screenshot(&device1, "03-dashboard-device1").await;

    // The sign-in form says what is missing or malformed before asking the server.
    device2.goto(&url).await.unwrap();
    wait_for(&device2, "#login-form").await;
    click(&device2, "#login-form button[type=submit]").await;
    wait_for_text(&device2, "#login-email-error", "Enter your email address").await;
    fill(&device2, "#login-email", "ada").await;
    wait_for_text(
        &device2,
        "#login-email-error",
        "This does not look like an email address",
    )
    .await;
    assert_invalid(&device2, "#login-email", true).await;

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
    // The waiting screen has its own URL: a reload shows the same request.
    assert!(
        device2
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/approve/")
    );
    device2.refresh().await.unwrap();
    let reloaded = wait_for(&device2, "#approval-code")
        .await
        .attr("data-code")
        .await
        .unwrap();
    assert_eq!(reloaded.as_deref(), Some(code.as_str()));
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
    let prompt = wait_for(&device1, "#approval-prompt")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(prompt.matches("tries left").count(), 1, "{prompt}");
    assert_invalid(&device1, "#approval-code-input", true).await;
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
}

async fn sign_up(client: &Client, url: &str, name: &str) {
    submit_signup(client, url, name).await;
    wait_for(client, "#dashboard").await;
}

/// Fills in and sends the signup form, reached from the sign-in page.
async fn submit_signup(client: &Client, url: &str, name: &str) {
    client.goto(url).await.unwrap();
    click(client, "#to-signup").await;
    wait_for(client, "#signup-form").await;
    fill(client, "#signup-name", name).await;
    fill(client, "#signup-email", "ada@example.com").await;
    fill(client, "#signup-password", PASSWORD).await;
    click(client, "#signup-form button[type=submit]").await;
}

/// Signs up and confirms the address from the mailed link, back on the dashboard (its
/// banner gone); `shot` names a screenshot of the banner before.
async fn sign_up_and_confirm(
    client: &Client,
    url: &str,
    mailbox: &crate::support::Mailbox,
    shot: Option<&str>,
) {
    sign_up(client, url, "Ada Lovelace").await;
    wait_for_text(client, "#verify-banner", "ada@example.com").await;
    wait_for_text(client, "#verify-banner", "we mailed a link").await;
    if let Some(shot) = shot {
        screenshot(client, shot).await;
    }
    let mail = mailbox
        .wait_for_subject_within("Confirm your e-mail address", 1, Duration::from_secs(10))
        .await;
    client
        .goto(&format!("{url}verify-email#token={}", mail[0].link_token()))
        .await
        .unwrap();
    wait_for_text(client, "#email-verified", "is confirmed").await;
    client.goto(url).await.unwrap();
    wait_for(client, "#dashboard").await;
    wait_for_count(client, "#verify-banner", 0).await;
}

#[tokio::test]
async fn a_device_replaced_under_the_single_policy_is_told_which_sign_in_replaced_it() {
    require_browser!();
    let app = spawn_app_with(|settings| {
        serve_the_built_app(settings);
        settings.session.limit_policy = api::config::LimitPolicy::Single;
    })
    .await;
    let url = page_url(&app);
    let browsers = Browsers::start("single-").await;
    let device1 = browsers.open("device1", 1280, 900).await;
    let device2 = browsers
        .open_as("device2", 1280, 900, FIREFOX_WINDOWS)
        .await;

    sign_up(&device1, &url, "Ada Lovelace").await;
    device2.goto(&url).await.unwrap();
    wait_for_text(
        &device2,
        "#policy-hint",
        "signs you out on your other device",
    )
    .await;
    log_in(&device2, &url, "ada@example.com").await;
    wait_for(&device2, "#dashboard").await;
    // Device 1 is taken to the sign-in page, told why, by which device.
    wait_for(&device1, "#login-form").await;
    wait_for_text(
        &device1,
        "#signed-out-notice",
        "signed out because your account signed in on Firefox 121",
    )
    .await;
    screenshot(&device1, "01-replaced").await;
    for client in [device1, device2] {
        let _ = client.close().await;
    }
    assert_no_csp_violations(&app).await;
}

#[tokio::test]
async fn a_new_device_alert_leads_from_this_wasnt_me_to_the_password_change() {
    require_browser!();
    let app = spawn_app_with(|settings| {
        serve_the_built_app(settings);
        settings.session.limit_policy = api::config::LimitPolicy::Refuse;
        settings.session.max_sessions = 3;
    })
    .await;
    let url = page_url(&app);
    let browsers = Browsers::start("alert-").await;
    let owner = browsers.open("owner", 1280, 900).await;
    let intruder = browsers
        .open_as("intruder", 1280, 900, FIREFOX_WINDOWS)
        .await;

    sign_up(&owner, &url, "Ada Lovelace").await;
    wait_for_text(&owner, ".live", "Live").await;
    log_in(&intruder, &url, "ada@example.com").await;
    wait_for(&intruder, "#dashboard").await;

    // The owner is alerted at once: a device never seen on the account.
    wait_for(&owner, ".alert[data-kind=new_device]").await;
    wait_for_text(&owner, ".alert", "Firefox 121").await;
    screenshot(&owner, "01-new-device-alert").await;
    click(&owner, ".alert .this-wasnt-me").await;
    // That session ends, and the owner is led to change the password.
    wait_for(&intruder, "#login-form").await;
    wait_for(&owner, "#secure-account").await;
    screenshot(&owner, "02-secure-account").await;
    fill(&owner, "#secure-current", PASSWORD).await;
    fill(&owner, "#secure-new", "an entirely new passphrase").await;
    click(&owner, "#secure-submit").await;
    wait_for_text(&owner, ".toast", "Password changed").await;
    wait_for_count(&owner, "#secure-account", 0).await;
    wait_for_count(&owner, "#active-sessions li.session", 1).await;
    screenshot(&owner, "03-secured").await;
    for client in [owner, intruder] {
        let _ = client.close().await;
    }
    assert_no_csp_violations(&app).await;
}

#[tokio::test]
async fn a_forgotten_password_is_reset_from_the_mailed_link_after_the_address_was_confirmed() {
    require_browser!();
    let (app, mailbox) = crate::support::app_with_mailbox_and(serve_the_built_app).await;
    let url = page_url(&app);
    let browsers = Browsers::start("recovery-").await;
    let device = browsers.open("device", 1280, 900).await;
    let token_of = async |subject: &str| {
        let mut mails = mailbox
            .wait_for_subject_within(subject, 1, std::time::Duration::from_secs(10))
            .await;
        mails.pop().unwrap().link_token()
    };

    // Until the address is confirmed, the dashboard says so.
    sign_up_and_confirm(&device, &url, &mailbox, Some("01-unconfirmed")).await;

    // Signed out and the password forgotten: the link in the mail sets a new one.
    click(&device, "#logout").await;
    click(&device, "#to-forgot-password").await;
    fill(&device, "#forgot-email", "ada@example.com").await;
    click(&device, "#forgot-form button[type=submit]").await;
    wait_for_text(&device, "#reset-requested", "on its way").await;
    screenshot(&device, "02-link-requested").await;
    let token = token_of("Reset your password").await;
    device
        .goto(&format!("{url}reset-password#token={token}"))
        .await
        .unwrap();
    fill(&device, "#reset-password", "a fresh and long passphrase").await;
    click(&device, "#reset-form button[type=submit]").await;
    wait_for_text(&device, "#signed-out-notice", "Your password was changed").await;
    fill(&device, "#login-email", "ada@example.com").await;
    fill(&device, "#login-password", "a fresh and long passphrase").await;
    click(&device, "#login-form button[type=submit]").await;
    wait_for(&device, "#dashboard").await;
    screenshot(&device, "03-signed-in-again").await;
    let _ = device.close().await;
    assert_no_csp_violations(&app).await;
}

#[tokio::test]
async fn a_new_browser_signs_in_with_the_mailed_code_and_this_wasnt_me_secures_the_account() {
    require_browser!();
    let (app, mailbox) = crate::support::app_with_mailbox_and(serve_the_built_app).await;
    let url = page_url(&app);
    let browsers = Browsers::start("mailed-code-").await;
    let owner = browsers.open("owner", 1280, 900).await;
    let laptop = browsers.open_as("laptop", 1280, 900, FIREFOX_WINDOWS).await;

    // A confirmed address, and no device signed in.
    sign_up_and_confirm(&owner, &url, &mailbox, None).await;
    click(&owner, "#logout").await;
    wait_for(&owner, "#login-form").await;

    // A browser the account never saw asks for the code mailed to the owner.
    log_in(&laptop, &url, "ada@example.com").await;
    wait_for_text(&laptop, "#confirm-sent-to", "a***@example.com").await;
    screenshot(&laptop, "01-code-asked").await;
    let mail = mailbox
        .wait_for_subject_within("Your sign-in code", 1, Duration::from_secs(10))
        .await
        .pop()
        .unwrap();
    let code = mail.code();
    let wrong = format!("{}{}", (code.as_bytes()[0] - b'0' + 1) % 10, &code[1..]);
    fill(&laptop, "#email-code", &wrong).await;
    click(&laptop, "#email-code-form button[type=submit]").await;
    wait_for_text(&laptop, "#email-code-error", "4 tries left").await;
    fill(&laptop, "#email-code", &code).await;
    click(&laptop, "#email-code-form button[type=submit]").await;
    wait_for(&laptop, "#dashboard").await;
    wait_for_count(&laptop, "#active-sessions li.session", 1).await;
    screenshot(&laptop, "02-signed-in").await;

    // "This wasn't me" from the mail: every device is signed out, then a new password.
    owner
        .goto(&format!(
            "{url}secure-account#token={}",
            mail.secure_account_token()
        ))
        .await
        .unwrap();
    screenshot(&owner, "03-secure-account").await;
    click(&owner, "#secure-confirm").await;
    wait_for_text(&owner, "#secured-message", "Every device was signed out").await;
    wait_for(&laptop, "#login-form").await;
    wait_for_text(&laptop, "#signed-out-notice", "this wasn't me").await;
    screenshot(&laptop, "04-signed-out").await;
    fill(&owner, "#reset-password", "a fresh and long passphrase").await;
    click(&owner, "#reset-form button[type=submit]").await;
    wait_for_text(&owner, "#signed-out-notice", "Your password was changed").await;
    // The owner's own browser is known to the account: no code for it.
    fill(&owner, "#login-email", "ada@example.com").await;
    fill(&owner, "#login-password", "a fresh and long passphrase").await;
    click(&owner, "#login-form button[type=submit]").await;
    wait_for(&owner, "#dashboard").await;
    screenshot(&owner, "05-signed-in-again").await;
    for client in [owner, laptop] {
        let _ = client.close().await;
    }
    assert_no_csp_violations(&app).await;
}

#[tokio::test]
async fn an_account_deleted_from_the_profile_signs_out_and_its_address_can_sign_up_again() {
    require_browser!();
    let app = spawn_app_with(serve_the_built_app).await;
    let url = page_url(&app);
    let browsers = Browsers::start("delete-").await;
    let device = browsers.open("device", 1280, 900).await;

    sign_up(&device, &url, "Ada Lovelace").await;
    click(&device, "#delete-account").await;
    // The confirmation names what is lost before it asks for the password.
    wait_for_text(&device, "#delete-account-form", "your activity log").await;
    wait_for_text(&device, "#delete-account-form", "cannot be undone").await;
    screenshot(&device, "01-confirmation").await;
    // Without the password nothing happens; with a wrong one the server refuses.
    click(&device, "#delete-account-form button[type=submit]").await;
    wait_for_text(
        &device,
        "#delete-account-form",
        "Enter your current password",
    )
    .await;
    fill(&device, "#delete-password", "not the password at all").await;
    click(&device, "#delete-account-form button[type=submit]").await;
    wait_for_text(&device, "#delete-account-form .field-error", "incorrect").await;
    wait_for(&device, "#dashboard").await;
    fill(&device, "#delete-password", PASSWORD).await;
    click(&device, "#delete-account-form button[type=submit]").await;

    wait_for(&device, "#login-form").await;
    wait_for_text(&device, "#signed-out-notice", "The account was deleted").await;
    screenshot(&device, "02-deleted").await;
    assert_eq!(
        app.device(FIREFOX_WINDOWS)
            .login("ada@example.com", PASSWORD)
            .await
            .status(),
        reqwest::StatusCode::UNAUTHORIZED
    );

    // The address is free again: the same person signs up anew, from the page.
    sign_up(&device, &url, "Ada King").await;
    wait_for_text(&device, "#profile", "Delete my account").await;
    screenshot(&device, "03-signed-up-again").await;
    let _ = device.close().await;
    assert_no_csp_violations(&app).await;
}

#[tokio::test]
async fn an_address_changed_from_the_profile_waits_for_the_mailed_link_then_heads_the_dashboard() {
    require_browser!();
    let (app, mailbox) = crate::support::app_with_mailbox_and(serve_the_built_app).await;
    let url = page_url(&app);
    let browsers = Browsers::start("change-email-").await;
    let device = browsers.open("device", 1280, 900).await;

    sign_up(&device, &url, "Ada Lovelace").await;
    fill(&device, "#new-email", "ada@new.example").await;
    click(&device, "#change-email-form button[type=submit]").await;
    wait_for_text(&device, "#change-email-form", "Enter your current password").await;
    fill(&device, "#email-password", PASSWORD).await;
    click(&device, "#change-email-form button[type=submit]").await;
    wait_for_text(
        &device,
        "#email-change-pending",
        "Waiting for confirmation of ada@new.example",
    )
    .await;
    screenshot(&device, "01-pending").await;
    // Still pending after a reload: the server says so.
    device.refresh().await.unwrap();
    wait_for_text(&device, "#email-change-pending", "ada@new.example").await;
    wait_for_text(&device, "#dashboard .who", "ada@example.com").await;

    let mail = mailbox
        .wait_for_subject_within(
            "Confirm your new e-mail address",
            1,
            Duration::from_secs(10),
        )
        .await
        .pop()
        .unwrap();
    assert!(mail.to.iter().any(|to| to.contains("ada@new.example")));
    device
        .goto(&format!(
            "{url}confirm-email-change#token={}",
            mail.link_token()
        ))
        .await
        .unwrap();
    // Opening the link changes nothing (mail scanners open links); the click does.
    wait_for(&device, "#confirm-email-change").await;
    screenshot(&device, "02-link-opened").await;
    click(&device, "#confirm-email-change").await;
    wait_for_text(&device, "#email-changed", "now ada@new.example").await;
    screenshot(&device, "03-changed").await;
    // This browser keeps its session, at the new address, with nothing pending.
    device.goto(&url).await.unwrap();
    wait_for_text(&device, "#dashboard .who", "ada@new.example").await;
    wait_for_count(&device, "#email-change-pending", 0).await;
    let _ = device.close().await;
    assert_no_csp_violations(&app).await;
}

thread_local! {
    /// Prefix of the screenshots' names for the scenario running on this thread.
    static SHOTS_PREFIX: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sm-browser-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Forward authentication in a real browser, through nginx running `deploy/nginx.conf`: a
/// protected URL leads to the sign-in page, and signing in leads back to it.
#[tokio::test]
async fn a_protected_app_behind_nginx_sends_the_browser_to_sign_in_and_gets_it_back() {
    require_browser!();
    let Some(site) = spawn_site(serve_the_built_app).await else {
        return;
    };
    // An account with no session open.
    let setup = site.app.user_with_one_session().await;
    assert_eq!(
        setup.post("/api/auth/logout", json!({})).await.status(),
        204
    );
    let browsers = Browsers::start("forward-auth-").await;
    let client = browsers.open("device", 1280, 900).await;

    let protected = site.nginx.url("/app/reports?year=2026");
    log_in(&client, &protected, "ada@example.com").await;
    wait_for_text(&client, "body", "ada@example.com").await;
    let url = client.current_url().await.unwrap();
    assert_eq!(url.as_str(), protected);
    let page = wait_for(&client, "body").await.text().await.unwrap();
    assert!(page.contains("x-auth-session-id"), "{page}");
    screenshot(&client, "01-back-at-the-protected-app").await;

    // Signed in, a foreign return_to leads to the dashboard, not away.
    client
        .goto(
            &site
                .nginx
                .url("/login?return_to=https%3A%2F%2Fevil.example%2F"),
        )
        .await
        .unwrap();
    wait_for(&client, "#dashboard").await;
    assert_eq!(
        client
            .current_url()
            .await
            .unwrap()
            .origin()
            .ascii_serialization(),
        site.origin()
    );
    let _ = client.close().await;
}

#[tokio::test]
async fn the_authenticator_app_is_turned_on_from_its_qr_code_and_a_late_password_change_asks_who_you_are()
 {
    require_browser!();
    let app = spawn_app_with(serve_the_built_app).await;
    let url = page_url(&app);
    let browsers = Browsers::start("second-factor-").await;
    let device = browsers.open("device", 1280, 1000).await;

    sign_up(&device, &url, "Ada Lovelace").await;
    click(&device, "#totp-begin").await;
    wait_for(&device, "#totp-qr svg").await;
    screenshot(&device, "01-qr-code").await;
    // The key the page shows is the one in the QR code: the "app" computes from it.
    let secret = wait_for(&device, "#totp-secret")
        .await
        .text()
        .await
        .unwrap();
    let authenticator = Authenticator::from_base32(secret.trim());
    fill(&device, "#totp-code", &app.code(&authenticator)).await;
    click(&device, "#totp-confirm").await;
    wait_for_count(&device, "#recovery-codes li", 10).await;
    screenshot(&device, "02-recovery-codes").await;
    click(&device, "#recovery-done").await;
    wait_for_text(&device, "#totp-state", "on").await;

    // Signed out and in again: the password, then the app's next code.
    app.clock.advance(chrono::Duration::seconds(30));
    click(&device, "#logout").await;
    log_in(&device, &url, "ada@example.com").await;
    wait_for(&device, "#second-factor-form").await;
    screenshot(&device, "03-second-step").await;
    fill(&device, "#second-factor-code", &app.code(&authenticator)).await;
    click(&device, "#second-factor-submit").await;
    wait_for(&device, "#dashboard").await;
    wait_for_text(&device, "#active-sessions", "authenticator app").await;

    // Later than the window, a password change asks who you are, then goes through.
    app.clock.advance(chrono::Duration::seconds(601));
    fill(&device, "#current-password", PASSWORD).await;
    fill(&device, "#new-password", "a fresh and long passphrase").await;
    click(&device, "#change-password-form button[type=submit]").await;
    wait_for(&device, "#reauth-dialog").await;
    screenshot(&device, "04-confirm-it-is-you").await;
    fill(&device, "#reauth-password", PASSWORD).await;
    click(&device, "#reauth-submit").await;
    wait_for_text(&device, ".toast", "Password changed").await;
    assert_eq!(
        app.device(FIREFOX_WINDOWS)
            .login("ada@example.com", "a fresh and long passphrase")
            .await
            .status(),
        reqwest::StatusCode::ACCEPTED
    );
    let _ = device.close().await;
}

/// A command of WebDriver's WebAuthn extension (`/session/{id}/webauthn/…`), which
/// fantoccini has no method for.
#[derive(Debug)]
struct WebAuthnCommand {
    method: http::Method,
    path: String,
    body: Option<serde_json::Value>,
}

impl fantoccini::wd::WebDriverCompatibleCommand for WebAuthnCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/webauthn/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(|body| body.to_string()),
        )
    }
}

/// A Chrome DevTools Protocol command through ChromeDriver (`/session/{id}/goog/cdp/execute`).
#[derive(Debug)]
struct CdpCommand {
    cmd: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for CdpCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

async fn cdp(client: &Client, cmd: &'static str, params: serde_json::Value) {
    client
        .issue_cmd(CdpCommand { cmd, params })
        .await
        .unwrap_or_else(|error| panic!("{cmd}: {error}"));
}

/// The rendered text of the first element `css` selects ("" where it is hidden).
async fn text_of(client: &Client, css: &str) -> String {
    wait_for(client, css).await.text().await.unwrap()
}

/// A returning browser's document paints the dashboard's top (its bar and the banner about
/// the address; `http::prepaint`) before the app has loaded: with no wasm at all it is what
/// the page shows. With the app, the app's own top takes its place, word for word.
#[tokio::test]
async fn a_returning_browser_is_painted_its_dashboards_top_before_the_app_which_takes_its_place() {
    require_browser!();
    let app = spawn_app_with(serve_the_built_app).await;
    let url = page_url(&app);
    let browsers = Browsers::start("").await;
    let client = browsers.open("device1", 1280, 900).await;

    sign_up(&client, &url, "Ada Lovelace").await;
    wait_for_text(&client, "#verify-banner", "the link is in the server log").await;
    let app_name = text_of(&client, "#app-name").await;
    let who = text_of(&client, ".topbar .who").await;
    let banner = text_of(&client, "#verify-banner > span").await;
    assert!(who.contains("Ada Lovelace"), "{who:?}");

    // No wasm: what the server wrote is all there is, and it is painted.
    cdp(&client, "Network.enable", json!({})).await;
    cdp(
        &client,
        "Network.setCacheDisabled",
        json!({ "cacheDisabled": true }),
    )
    .await;
    cdp(
        &client,
        "Network.setBlockedURLs",
        json!({ "urls": ["*.wasm"] }),
    )
    .await;
    client.goto(&url).await.unwrap();
    let painted = wait_for(&client, ".prepaint .banner").await;
    assert!(painted.is_displayed().await.unwrap());
    assert_eq!(text_of(&client, ".prepaint .brand").await, app_name);
    assert_eq!(text_of(&client, ".prepaint .who").await, who);
    assert_eq!(text_of(&client, ".prepaint .banner > span").await, banner);
    // Its buttons wait for the app.
    for button in client
        .find_all(Locator::Css(".prepaint button"))
        .await
        .unwrap()
    {
        assert!(!button.is_enabled().await.unwrap());
    }
    assert_eq!(count(&client, "#dashboard").await, 0);
    screenshot(&client, "prepaint-without-the-app").await;

    // With the app: its top in that place, and the painted one gone.
    cdp(&client, "Network.setBlockedURLs", json!({ "urls": [] })).await;
    client.goto(&url).await.unwrap();
    wait_for(&client, "#active-sessions li.session").await;
    wait_for_count(&client, ".prepaint", 0).await;
    assert!(
        wait_for(&client, "#dashboard")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    assert_eq!(text_of(&client, ".topbar .who").await, who);
    assert_eq!(text_of(&client, "#verify-banner > span").await, banner);
    let _ = client.close().await;
    assert_no_csp_violations(&app).await;
}

/// Gives the browser a virtual platform authenticator that holds passkeys and verifies
/// its user without asking: its id.
async fn virtual_authenticator(client: &Client) -> String {
    let options = json!({
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": true,
        "hasUserVerification": true,
        "isUserConsenting": true,
        "isUserVerified": true,
    });
    let id = client
        .issue_cmd(WebAuthnCommand {
            method: http::Method::POST,
            path: "authenticator".into(),
            body: Some(options),
        })
        .await
        .expect("the virtual authenticator is added");
    id.as_str().expect("an authenticator id").to_owned()
}

/// The passkeys a virtual authenticator holds.
async fn passkeys_of(client: &Client, authenticator: &str) -> Vec<serde_json::Value> {
    let credentials = client
        .issue_cmd(WebAuthnCommand {
            method: http::Method::GET,
            path: format!("authenticator/{authenticator}/credentials"),
            body: None,
        })
        .await
        .expect("the credentials are listed");
    credentials.as_array().expect("a list").clone()
}

/// Forgets every passkey of a virtual authenticator.
async fn forget_passkeys(client: &Client, authenticator: &str) {
    client
        .issue_cmd(WebAuthnCommand {
            method: http::Method::DELETE,
            path: format!("authenticator/{authenticator}/credentials"),
            body: None,
        })
        .await
        .expect("the credentials are removed");
}

/// Puts passkeys into a virtual authenticator (as a passkey synced between two browsers is).
async fn add_passkeys(client: &Client, authenticator: &str, credentials: &[serde_json::Value]) {
    for credential in credentials {
        let copy = json!({
            "credentialId": credential["credentialId"],
            "isResidentCredential": credential["isResidentCredential"],
            "rpId": credential["rpId"],
            "privateKey": credential["privateKey"],
            "userHandle": credential["userHandle"],
            "signCount": credential["signCount"],
        });
        client
            .issue_cmd(WebAuthnCommand {
                method: http::Method::POST,
                path: format!("authenticator/{authenticator}/credential"),
                body: Some(copy),
            })
            .await
            .expect("the credential is added");
    }
}

/// A passkey added from the dashboard signs in a second browser profile (the passkey
/// synced to it) with the button, without the password or a mailed code.
#[tokio::test]
async fn a_passkey_added_on_the_dashboard_signs_in_a_second_browser() {
    require_browser!();
    let app = spawn_app_with(serve_the_built_app).await;
    // WebAuthn wants a domain: localhost, which PUBLIC_URL is by default.
    let url = format!("http://localhost:{}/", app.port);
    let browsers = Browsers::start("passkey-").await;
    let laptop = browsers.open("laptop", 1280, 900).await;
    let phone = browsers.open_as("phone", 1280, 900, FIREFOX_WINDOWS).await;
    let on_laptop = virtual_authenticator(&laptop).await;
    let on_phone = virtual_authenticator(&phone).await;

    sign_up(&laptop, &url, "Ada Lovelace").await;
    fill(&laptop, "#passkey-name", "Laptop").await;
    click(&laptop, "#add-passkey-button").await;
    wait_for_text(&laptop, "#passkey-list", "Laptop").await;
    wait_for_text(&laptop, "#passkey-list", "never used").await;
    screenshot(&laptop, "01-added").await;
    // The virtual authenticator answers the sign-in page's autofill request at once (a
    // person would pick the passkey first): the laptop forgets it, so that it stays out.
    let synced = passkeys_of(&laptop, &on_laptop).await;
    assert_eq!(synced.len(), 1);
    forget_passkeys(&laptop, &on_laptop).await;
    click(&laptop, "#logout").await;
    wait_for(&laptop, "#login-form").await;

    phone.goto(&url).await.unwrap();
    wait_for(&phone, "#login-form").await;
    let email_field = wait_for(&phone, "#login-email").await;
    assert_eq!(
        email_field.attr("autocomplete").await.unwrap().as_deref(),
        Some("username webauthn")
    );
    screenshot(&phone, "02-sign-in").await;
    // The passkey arrives on the phone (synced). The autofill request already waiting may
    // take it at once; otherwise the button does.
    add_passkeys(&phone, &on_phone, &synced).await;
    if let Ok(button) = phone.find(Locator::Css("#passkey-sign-in")).await {
        let _ = button.click().await;
    }
    wait_for(&phone, "#dashboard").await;
    wait_for_text(&phone, "#passkey-list", "last used").await;
    screenshot(&phone, "03-signed-in").await;

    // Past sudo mode's window, removing the passkey asks who it is: the passkey answers,
    // and the removal goes on.
    app.clock.advance(chrono::Duration::seconds(601));
    click(&phone, ".remove-passkey").await;
    wait_for(&phone, "#reauth-dialog").await;
    click(&phone, "#reauth-passkey").await;
    wait_for_text(&phone, ".toast", "The passkey was removed.").await;
    screenshot(&phone, "04-removed-after-passkey-reauthentication").await;
    assert_eq!(app.count("SELECT count(*) AS n FROM passkeys").await, 0);
    let proof = app
        .sql("SELECT proof_method FROM sessions WHERE ended_at IS NULL")
        .await;
    assert_eq!(proof[0]["proof_method"], "passkey");
    for client in [laptop, phone] {
        let _ = client.close().await;
    }
    assert_no_csp_violations(&app).await;
}

/// The wasm files this browser has fetched so far.
async fn fetched_wasm(client: &Client) -> Vec<String> {
    let names = client
        .execute(
            "return performance.getEntriesByType('resource').map(entry => entry.name)",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value::<Vec<String>>(names)
        .unwrap()
        .into_iter()
        .filter(|name| name.ends_with(".wasm"))
        .collect()
}

/// Each resource this page has fetched, with one of its times (ms into the page):
/// `startTime`, `responseEnd`.
async fn resource_times(client: &Client, time: &str) -> Vec<(String, f64)> {
    let entries = client
        .execute(
            "return performance.getEntriesByType('resource')\
             .map(entry => [entry.name, entry[arguments[0]]])",
            vec![serde_json::json!(time)],
        )
        .await
        .unwrap();
    serde_json::from_value(entries).unwrap()
}

/// The production build splits the app (scripts/build-frontend): the sign-in page is served
/// without the dashboard's code, which the browser fetches once the dashboard is shown.
#[tokio::test]
async fn the_sign_in_page_loads_without_the_dashboard_whose_module_comes_when_signed_in() {
    require_browser!();
    let app = spawn_app_with(serve_the_built_app).await;
    let url = page_url(&app);
    let browsers = Browsers::start("").await;
    let client = browsers.open("device1", 1280, 900).await;
    let is_dashboard = |name: &String| name.contains("/split_dashboard-");

    client.goto(&format!("{url}login")).await.unwrap();
    wait_for(&client, "#login-form").await;
    // The passkey autofill the page starts fails here (the app is not at its PUBLIC_URL):
    // a refusal in the browser, not an unreachable server (it once raised the outage banner).
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        count(&client, "#outage-banner").await,
        0,
        "an outage banner"
    );
    let on_sign_in = fetched_wasm(&client).await;
    assert!(
        on_sign_in.iter().any(|name| name.ends_with("_bg.wasm")),
        "the app's main module: {on_sign_in:?}"
    );
    assert!(
        !on_sign_in.iter().any(is_dashboard),
        "the sign-in page fetched the dashboard: {on_sign_in:?}"
    );

    sign_up(&client, &url, "Ada Lovelace").await;
    wait_for(&client, "#active-sessions").await;
    let signed_in = fetched_wasm(&client).await;
    assert!(
        signed_in.iter().any(is_dashboard),
        "the dashboard's module: {signed_in:?}"
    );

    // A returning browser: its document says who is signed in (the app asks nothing before
    // drawing the dashboard), and its Link header has started the dashboard's module before
    // the main module has even arrived.
    client.goto(&url).await.unwrap();
    wait_for(&client, "#active-sessions").await;
    let started = resource_times(&client, "startTime").await;
    let main_module_arrived = resource_times(&client, "responseEnd")
        .await
        .into_iter()
        .find(|(name, _)| name.ends_with("_bg.wasm"))
        .map(|(_, end)| end)
        .unwrap_or_else(|| panic!("no main module fetched: {started:?}"));
    let earliest = |wanted: &dyn Fn(&str) -> bool| {
        started
            .iter()
            .filter(|(name, _)| wanted(name))
            .map(|(_, start)| *start)
            .reduce(f64::min)
    };
    for asked_first in ["/api/auth/session", "/api/config"] {
        assert_eq!(
            earliest(&|name| name.ends_with(asked_first)),
            None,
            "the app asked {asked_first}: {started:?}"
        );
    }
    let dashboard_started = earliest(&|name| name.contains("/split_dashboard-"))
        .unwrap_or_else(|| panic!("no dashboard module fetched: {started:?}"));
    assert!(
        dashboard_started < main_module_arrived,
        "the dashboard's module started at {dashboard_started} ms, after the main module had \
         arrived at {main_module_arrived} ms: {started:?}"
    );
    let _ = client.close().await;
    assert_no_csp_violations(&app).await;
}

/// The app served from a copy of the built app without the files whose names start with a
/// prefix (a module that cannot be fetched), and a browser to load it in.
struct AppWithoutModule {
    /// The copy served.
    dist: PathBuf,
    /// The files left out, in `dist/`.
    left_out: Vec<PathBuf>,
    url: String,
    client: Client,
    _browsers: Browsers,
    _app: TestApp,
}

impl AppWithoutModule {
    async fn start(prefix: &str) -> Self {
        let dist = tempfile_dir();
        let mut left_out = Vec::new();
        for entry in std::fs::read_dir(workspace_root().join("dist")).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with(prefix) {
                left_out.push(path);
            } else {
                std::fs::copy(&path, dist.join(&name)).unwrap();
            }
        }
        assert!(!left_out.is_empty(), "dist/ holds a module named {prefix}…");
        let static_dir = dist.clone();
        let app = spawn_app_with(|settings| settings.server.static_dir = Some(static_dir)).await;
        let url = page_url(&app);
        let browsers = Browsers::start("").await;
        let client = browsers.open("device1", 1280, 900).await;
        Self {
            dist,
            left_out,
            url,
            client,
            _browsers: browsers,
            _app: app,
        }
    }

    async fn finish(self) {
        let _ = self.client.close().await;
        let _ = std::fs::remove_dir_all(&self.dist);
    }
}

/// The dashboard's lower parts come from a module of their own, fetched once its top is
/// painted; when it cannot be fetched, the top still works and the page says so once.
#[tokio::test]
async fn the_dashboards_top_works_without_its_lower_parts_module_and_says_it_is_missing() {
    require_browser!();
    let app = AppWithoutModule::start("split_dashboard_lower-").await;
    let client = &app.client;

    sign_up(client, &app.url, "Ada Lovelace").await;
    wait_for(client, "#active-sessions li.session").await;
    wait_for_text(client, "#parts-not-fetched", "could not be loaded").await;
    assert_eq!(count(client, "#parts-not-fetched").await, 1);
    assert_eq!(count(client, "#profile").await, 0);
    // The top's own actions still work: signing out.
    click(client, "#logout").await;
    wait_for(client, "#login-form").await;
    app.finish().await;
}

/// A lazy page whose module cannot be fetched (the network, or a deployment that replaced
/// it) says so and offers a reload, which shows the page once the module is there.
#[tokio::test]
async fn a_page_whose_module_cannot_be_fetched_says_so_and_a_reload_shows_it() {
    require_browser!();
    // The app without the dashboard's own module.
    let app = AppWithoutModule::start("split_dashboard-").await;
    let client = &app.client;

    submit_signup(client, &app.url, "Ada Lovelace").await;
    wait_for_text(client, "#page-not-fetched", "could not be loaded").await;
    // A returning browser's document paints the dashboard's top first; it gives way to the
    // message when the module does not come (hidden under it, the message would never show).
    client.goto(&app.url).await.unwrap();
    wait_for_text(client, "#page-not-fetched", "could not be loaded").await;
    assert_eq!(count(client, ".prepaint").await, 0);

    for path in &app.left_out {
        std::fs::copy(path, app.dist.join(path.file_name().unwrap())).unwrap();
    }
    click(client, "#reload-page").await;
    wait_for(client, "#dashboard").await;
    app.finish().await;
}
