//! Forward authentication: Debian's nginx runs the shipped `deploy/nginx.conf` in front of
//! the API and of a protected app that echoes the identity headers it gets.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, LOCATION};
use serde_json::Value;

use api::config::Clock;

use crate::support::*;

const PAGE_LOAD: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// `None` (the test is skipped) without nginx, unless the full suite requires it.
async fn site() -> Option<Site> {
    spawn_site(|_| {}).await
}

async fn page_load(device: &Device, path: &str) -> reqwest::Response {
    device
        .client
        .get(device.url(path))
        .header(ACCEPT, PAGE_LOAD)
        .send()
        .await
        .unwrap()
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .expect("a Location")
        .to_str()
        .unwrap()
        .to_owned()
}

fn sign_in_page(origin: &str, return_to: Option<&str>) -> String {
    match return_to {
        Some(url) => format!(
            "{origin}/login?return_to={}",
            url::form_urlencoded::byte_serialize(url.as_bytes()).collect::<String>()
        ),
        None => format!("{origin}/login"),
    }
}

/// What the protected app saw of a request that reached it.
async fn identity_seen(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["identity"].clone()
}

#[tokio::test]
async fn a_browser_without_a_session_is_sent_to_sign_in_and_then_the_app_sees_who_it_is() {
    let Some(site) = site().await else { return };
    let browser = site.through_nginx(&site.app.device(CHROME_LINUX));
    let wanted = format!("{}/app/reports?year=2026&team=a%20b", site.origin());

    let refused = page_load(&browser, "/app/reports?year=2026&team=a%20b").await;
    assert_eq!(refused.status(), StatusCode::FOUND);
    assert_eq!(
        location(&refused),
        sign_in_page(&site.origin(), Some(&wanted))
    );

    // Signing in through the same site (the app's sign-in page calls this).
    let signed_up = browser
        .post(
            "/api/auth/signup",
            serde_json::json!({"email": "ada@example.com", "password": PASSWORD, "name": "Zoë Ada"}),
        )
        .await;
    assert_eq!(signed_up.status(), StatusCode::CREATED);
    let me: Value = browser.me().await.json().await.unwrap();

    // What a client claims under the identity headers never reaches the app.
    let response = browser
        .client
        .get(site.nginx.url("/app/reports?year=2026"))
        .header("x-auth-email", "mallory@example.com")
        .send()
        .await
        .unwrap();
    let identity = identity_seen(response).await;
    assert_eq!(identity["x-auth-user-id"], me["user"]["id"]);
    assert_eq!(identity["x-auth-email"], "ada@example.com");
    assert_eq!(identity["x-auth-name"], "Zo%C3%AB Ada");
    assert_eq!(identity["x-auth-session-id"], me["session"]["id"]);
    assert_eq!(identity.as_object().unwrap().len(), 4, "{identity}");

    // A client's own claim under an identity header is replaced whenever it asks.
    let stranger = site.through_nginx(&site.app.device(CHROME_LINUX));
    let refused = stranger
        .client
        .get(site.nginx.url("/app/"))
        .header("x-auth-user-id", me["user"]["id"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn a_revoked_session_is_refused_on_its_very_next_proxied_request() {
    let Some(site) = site().await else { return };
    let (first, second) = site.app.user_with_two_sessions().await;
    let second_id = second.session_id().await;
    let second = site.through_nginx(&second);
    let first_through_nginx = site.through_nginx(&first);
    identity_seen(page_load(&second, "/app/").await).await;
    identity_seen(page_load(&first_through_nginx, "/app/").await).await;

    // From the dashboard of the first device.
    let revoked = first.delete(&format!("/api/sessions/{second_id}")).await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let refused = page_load(&second, "/app/").await;
    assert_eq!(refused.status(), StatusCode::FOUND);
    assert!(location(&refused).starts_with(&sign_in_page(&site.origin(), None)));

    // By an administrator (`api admin revoke-all` runs this service).
    api::services::admin::revoke_all(
        &site.app.state,
        "ada@example.com",
        &api::services::admin::Administrator::CommandLine,
    )
    .await
    .unwrap();
    let refused = first_through_nginx.get("/app/").await;
    assert_eq!(refused.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn a_foreign_return_to_is_ignored() {
    let Some(site) = site().await else { return };
    let browser = site.through_nginx(&site.app.device(CHROME_LINUX));
    // Another Host (so another original URL) than the one origin allowed.
    let response = browser
        .client
        .get(site.nginx.url("/app/"))
        .header("host", "evil.example")
        .header(ACCEPT, PAGE_LOAD)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), sign_in_page(&site.origin(), None));
    // The app learns which origins it may return to, and nothing else.
    let config: Value = browser.get("/api/config").await.json().await.unwrap();
    assert_eq!(
        config["return_to_origins"],
        serde_json::json!([site.origin()])
    );
}

#[tokio::test]
async fn verify_answers_a_proxy_with_identity_headers_a_401_or_with_redirect_1_a_302() {
    let app = spawn_app_with(|settings| {
        settings.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        settings.server.public_url = Some("https://auth.example.com".to_owned());
        settings.forward_auth.return_to_origins = vec!["https://app.example.com".to_owned()];
        settings.forward_auth.header_prefix = "Remote-".to_owned();
    })
    .await;
    let stranger = app.device(CHROME_LINUX);
    let verify = |device: &Device, method: &'static str, accept: &'static str| {
        device
            .client
            .get(device.url("/api/auth/verify?redirect=1"))
            .header("x-forwarded-method", method)
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "app.example.com")
            .header("x-forwarded-uri", "/inbox?id=7")
            .header(ACCEPT, accept)
            .send()
    };
    let sign_in = sign_in_page(
        "https://auth.example.com",
        Some("https://app.example.com/inbox?id=7"),
    );

    // Traefik or Caddy holding a browser's page load: the redirect itself.
    let redirected = verify(&stranger, "GET", PAGE_LOAD).await.unwrap();
    assert_eq!(redirected.status(), StatusCode::FOUND);
    assert_eq!(location(&redirected), sign_in);
    // A script's request, or a form's POST: the 401, which names the sign-in page too.
    for (method, accept) in [("GET", "application/json"), ("POST", PAGE_LOAD)] {
        let refused = verify(&stranger, method, accept).await.unwrap();
        assert_eq!(
            refused.headers()["remote-redirect"].to_str().unwrap(),
            sign_in
        );
        assert_error(refused, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    }
    // Without `redirect=1`, always the 401 (nginx's auth_request takes nothing else).
    let plain = stranger
        .client
        .get(stranger.url("/api/auth/verify"))
        .header(ACCEPT, PAGE_LOAD)
        .send()
        .await
        .unwrap();
    assert_error(plain, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let unknown = stranger.get("/api/auth/verify?redirect=2").await;
    assert_error(unknown, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;

    // Signed in: the identity under the configured prefix, and the check is a use.
    let ada = app.user_with_one_session().await;
    let session_id = ada.session_id().await;
    app.clock.advance(chrono::Duration::minutes(30));
    let ok = verify(&ada, "GET", PAGE_LOAD).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(
        ok.headers()["remote-session-id"].to_str().unwrap(),
        session_id
    );
    assert_eq!(
        ok.headers()["remote-email"].to_str().unwrap(),
        "ada@example.com"
    );
    assert!(ok.headers().get("remote-redirect").is_none());
    let last_seen = app
        .sql(&format!(
            "SELECT last_seen_at::text AS at FROM sessions WHERE id = '{session_id}'"
        ))
        .await;
    let seen = chrono::DateTime::parse_from_str(
        last_seen[0]["at"].as_str().unwrap(),
        "%Y-%m-%d %H:%M:%S%.f%#z",
    )
    .unwrap();
    assert!(app.clock.now() - seen.with_timezone(&chrono::Utc) < chrono::Duration::minutes(1));
}

#[tokio::test]
async fn forwarded_headers_from_a_peer_that_is_no_trusted_proxy_are_ignored() {
    let app = spawn_app_with(|settings| {
        settings.server.public_url = Some("https://auth.example.com".to_owned());
        settings.forward_auth.return_to_origins = vec!["https://app.example.com".to_owned()];
    })
    .await;
    let response = app
        .device(CHROME_LINUX)
        .client
        .get(app.url("/api/auth/verify?redirect=1"))
        .header("x-forwarded-method", "GET")
        .header("x-original-url", "https://app.example.com/")
        .header(ACCEPT, PAGE_LOAD)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["x-auth-redirect"].to_str().unwrap(),
        "https://auth.example.com/login"
    );
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[tokio::test]
async fn with_a_cookie_domain_both_cookies_are_shared_with_its_subdomains_under_the_secure_prefix()
{
    let app = spawn_app_with(|settings| {
        settings.session.cookie_secure = true;
        settings.session.cookie_domain = Some("example.test".to_owned());
    })
    .await;
    let response = app
        .device(CHROME_LINUX)
        .post(
            "/api/auth/signup",
            serde_json::json!({"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    for name in ["__Secure-sm_session", "__Secure-sm_device"] {
        let cookie = set_cookie(&response, name).unwrap_or_else(|| panic!("{name} is set"));
        assert!(cookie.contains("Domain=example.test"), "{cookie}");
        assert!(cookie.contains("Secure"), "{cookie}");
    }
    assert!(set_cookie(&response, "__Host-sm_session").is_none());
}
