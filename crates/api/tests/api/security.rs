//! ASVS 5.0 requirements (levels 1 and 2) of V3, V4.4, V6 and V7 that this service keeps,
//! each test named after the requirement it proves; SECURITY.md maps every requirement to its
//! test or to the reason it does not apply.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

/// A built app of one inline script, served by the API.
fn static_site() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sm-site-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><html><head><script type=\"module\">boot();</script></head></html>",
    )
    .unwrap();
    std::fs::write(dir.join("app-0123456789abcdef_bg.wasm"), b"\0asm").unwrap();
    std::fs::write(dir.join("app-0123456789abcdef_bg.wasm.br"), b"brotli bytes").unwrap();
    dir
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn asvs_3_3_1_3_3_3_3_3_4_the_session_cookie_is_secure_host_prefixed_and_http_only() {
    let app = spawn_app_with(|settings| settings.session.cookie_secure = true).await;
    let response = app
        .device(CHROME_LINUX)
        .post(
            "/api/auth/signup",
            json!({"email": "ada@example.com", "password": PASSWORD, "name": "Ada"}),
        )
        .await;
    let cookie = set_cookie(&response, "__Host-sm_session").expect("the session cookie");
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    let device = set_cookie(&response, "__Host-sm_device").expect("the device cookie");
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(device.contains(attribute), "{attribute} missing: {device}");
    }
}

#[tokio::test]
async fn asvs_3_3_2_7_3_the_session_cookie_ends_with_the_browser_unless_kept_on_this_device() {
    let app = spawn_app().await;
    let owner = app.user_with_one_session().await;
    owner.post("/api/auth/logout", json!({})).await;
    let plain = app
        .device(CHROME_LINUX)
        .login("ada@example.com", PASSWORD)
        .await;
    let cookie = set_cookie(&plain, "sm_session").unwrap();
    assert!(
        !cookie.contains("Max-Age") && !cookie.contains("Expires"),
        "{cookie}"
    );
    app.device(CHROME_LINUX)
        .post("/api/auth/logout", json!({}))
        .await;
    app.execute(
        "UPDATE sessions SET ended_at = now(), end_reason = 'logout' WHERE ended_at IS NULL",
    )
    .await;
    let kept = app
        .device(CHROME_LINUX)
        .post(
            "/api/auth/login",
            json!({"email": "ada@example.com", "password": PASSWORD, "keep_signed_in": true}),
        )
        .await;
    assert_eq!(kept.status(), StatusCode::OK);
    let cookie = set_cookie(&kept, "sm_session").unwrap();
    let max_age: i64 = cookie
        .split(';')
        .find_map(|part| part.trim().strip_prefix("Max-Age="))
        .expect("a persistent cookie")
        .parse()
        .unwrap();
    // Up to the absolute lifetime (7 days), not beyond.
    assert!(
        (7 * 86_400 - 60..=7 * 86_400).contains(&max_age),
        "{max_age}"
    );
}

#[tokio::test]
async fn a_kept_cookie_lives_as_long_as_its_session_by_the_apps_clock() {
    let app = spawn_app().await;
    let owner = app.user_with_one_session().await;
    owner.post("/api/auth/logout", json!({})).await;
    // Three days pass on the app's clock; the session it starts ends 7 days after that.
    app.clock.advance(chrono::Duration::days(3));
    let kept = app
        .device(CHROME_LINUX)
        .post(
            "/api/auth/login",
            json!({"email": "ada@example.com", "password": PASSWORD, "keep_signed_in": true}),
        )
        .await;
    assert_eq!(kept.status(), StatusCode::OK);
    let cookie = set_cookie(&kept, "sm_session").unwrap();
    let max_age: i64 = cookie
        .split(';')
        .find_map(|part| part.trim().strip_prefix("Max-Age="))
        .expect("a persistent cookie")
        .parse()
        .unwrap();
    assert!(
        (7 * 86_400 - 60..=7 * 86_400).contains(&max_age),
        "{max_age}"
    );
}

#[tokio::test]
async fn asvs_3_4_1_hsts_is_sent_whenever_the_cookie_is_secure() {
    let secure = spawn_app_with(|settings| settings.session.cookie_secure = true).await;
    let response = reqwest::get(secure.url("/api/config")).await.unwrap();
    assert_eq!(
        header(&response, "strict-transport-security"),
        "max-age=63072000; includeSubDomains"
    );
    let local = spawn_app().await;
    let response = reqwest::get(local.url("/api/config")).await.unwrap();
    assert_eq!(header(&response, "strict-transport-security"), "");
}

#[tokio::test]
async fn asvs_3_4_2_no_cors_headers_are_ever_granted() {
    let app = spawn_app().await;
    let response = reqwest::Client::new()
        .get(app.url("/api/config"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "access-control-allow-origin"), "");
    assert_eq!(header(&response, "access-control-allow-credentials"), "");
}

#[tokio::test]
async fn asvs_3_4_3_3_4_6_the_document_has_a_strict_csp_with_script_hashes_and_no_framing() {
    let site = static_site();
    let app = spawn_app_with(move |settings| settings.server.static_dir = Some(site)).await;
    let response = reqwest::get(app.url("/login")).await.unwrap();
    let csp = header(&response, "content-security-policy");
    // Sockets: the app's own origin, and PUBLIC_URL's for browsers before CSP 3.
    let sockets = format!(
        "connect-src 'self' {}",
        app.state
            .settings
            .server
            .public_url()
            .replacen("http", "ws", 1)
    );
    for directive in [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval' 'sha256-",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        &sockets,
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    // The hash is the one of the inline script.
    use base64::Engine;
    let digest = base64::engine::general_purpose::STANDARD
        .encode(<sha2::Sha256 as sha2::Digest>::digest(b"boot();"));
    assert!(csp.contains(&format!("'sha256-{digest}'")), "{csp}");
    assert_eq!(header(&response, "x-frame-options"), "DENY");
    assert_eq!(
        header(&response, "cross-origin-opener-policy"),
        "same-origin"
    );
    // The API's answers cannot be framed either.
    let api = reqwest::get(app.url("/api/config")).await.unwrap();
    assert!(header(&api, "content-security-policy").contains("frame-ancestors 'none'"));
}

#[tokio::test]
async fn asvs_3_4_3_3_4_6_the_documents_policy_comes_from_the_configuration_not_the_host_header() {
    let site = static_site();
    let app = spawn_app_with(move |settings| {
        settings.server.static_dir = Some(site);
        settings.server.public_url = Some("https://sessions.example/app".to_owned());
        settings.server.allowed_origins = vec!["http://localhost:8080".to_owned()];
    })
    .await;
    let plain = reqwest::get(app.url("/login")).await.unwrap();
    let expected = header(&plain, "content-security-policy");
    assert!(
        expected.contains("connect-src 'self' wss://sessions.example ws://localhost:8080;"),
        "{expected}"
    );
    // Behind a cache that does not key on Host, a crafted Host would poison the page of
    // everyone: it must change nothing in the policy.
    for host in [
        "evil.example; frame-ancestors *",
        "evil.example; script-src * 'unsafe-inline'",
        "evil.example",
    ] {
        let crafted = reqwest::Client::new()
            .get(app.url("/login"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(crafted.status(), StatusCode::OK);
        let csp = header(&crafted, "content-security-policy");
        assert_eq!(csp, expected, "Host: {host}");
        assert!(!csp.contains("evil.example"), "{csp}");
        assert_eq!(csp.matches("frame-ancestors").count(), 1, "{csp}");
    }
}

#[tokio::test]
async fn asvs_3_4_4_3_4_5_every_response_says_nosniff_and_no_referrer() {
    let site = static_site();
    let app = spawn_app_with(move |settings| settings.server.static_dir = Some(site)).await;
    let device = app.user_with_one_session().await;
    for response in [
        reqwest::get(app.url("/")).await.unwrap(),
        reqwest::get(app.url("/api/nope")).await.unwrap(),
        device.me().await,
        reqwest::get(app.url("/healthz")).await.unwrap(),
        reqwest::get(app.url("/app-0123456789abcdef_bg.wasm"))
            .await
            .unwrap(),
    ] {
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        assert_eq!(header(&response, "referrer-policy"), "no-referrer");
    }
}

#[tokio::test]
async fn authenticated_json_is_never_cached_and_logout_clears_site_data() {
    let app = spawn_app().await;
    let device = app.user_with_one_session().await;
    assert_eq!(header(&device.me().await, "cache-control"), "no-store");
    assert_eq!(
        header(&device.get("/api/sessions").await, "cache-control"),
        "no-store"
    );
    let logout = device.post("/api/auth/logout", json!({})).await;
    assert_eq!(header(&logout, "clear-site-data"), "\"cache\", \"storage\"");
}

#[tokio::test]
async fn hashed_assets_are_immutable_precompressed_and_the_document_never_stored() {
    let site = static_site();
    let app = spawn_app_with(move |settings| settings.server.static_dir = Some(site)).await;
    let client = reqwest::Client::builder().no_brotli().build().unwrap();
    let wasm = client
        .get(app.url("/app-0123456789abcdef_bg.wasm"))
        .header("accept-encoding", "br, gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&wasm, "content-encoding"), "br");
    assert_eq!(
        header(&wasm, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(header(&wasm, "vary"), "Accept-Encoding");
    assert_eq!(wasm.bytes().await.unwrap().as_ref(), b"brotli bytes");
    let plain = client
        .get(app.url("/app-0123456789abcdef_bg.wasm"))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&plain, "content-encoding"), "");
    assert_eq!(plain.bytes().await.unwrap().as_ref(), b"\0asm");
    // It says who is signed in (its boot state).
    let document = reqwest::get(app.url("/approve/123")).await.unwrap();
    assert_eq!(header(&document, "cache-control"), "no-store");
    // A build's file that is missing (an earlier deployment's) is a 404, not the document.
    let gone = reqwest::get(app.url("/split_dashboard-fedcba9876543210.wasm"))
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(gone.json::<Value>().await.unwrap()["code"], "not_found");
}

/// The document's boot state (`shared::BootState`), read as the app reads it: its two blocks.
fn boot_state(html: &str) -> Value {
    let block = |id: &str| -> Value {
        let start = html
            .find(&format!(r#"<script type="application/json" id="{id}">"#))
            .unwrap_or_else(|| panic!("no {id} in {html}"));
        let block = &html[start..];
        let json = &block[block.find('>').unwrap() + 1..block.find("</script>").unwrap()];
        serde_json::from_str(json).unwrap()
    };
    json!({ "config": block("boot-config"), "session": block("boot-session") })
}

#[tokio::test]
async fn the_document_carries_the_rules_and_who_is_signed_in_so_the_app_asks_nothing_first() {
    let site = static_site();
    let app = spawn_app_with(move |settings| settings.server.static_dir = Some(site)).await;
    let config: Value = reqwest::get(app.url("/api/config"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let visitor = reqwest::get(app.url("/login")).await.unwrap();
    let visitor = boot_state(&visitor.text().await.unwrap());
    assert_eq!(visitor["config"], config);
    assert_eq!(visitor["session"], json!({ "authenticated": false }));

    // Signed in: what `/api/auth/session` says, with a name no document may carry as markup.
    let device = app.user_with_one_session().await;
    let renamed = device
        .patch(
            "/api/me",
            json!({ "name": "Ada </script><script>alert(1)</script> & Co" }),
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    let probe: Value = device.get("/api/auth/session").await.json().await.unwrap();
    let document = device.get("/").await;
    assert_eq!(header(&document, "cache-control"), "no-store");
    let html = document.text().await.unwrap();
    // The start script's and the two blocks' ends, no more.
    assert_eq!(html.matches("</script>").count(), 3, "{html}");
    assert!(!html.contains("<script>alert"), "{html}");
    let signed_in = boot_state(&html);
    assert_eq!(signed_in["config"], config);
    assert_eq!(signed_in["session"]["authenticated"], true);
    assert_eq!(signed_in["session"]["user"], probe["user"]);
    assert_eq!(
        signed_in["session"]["user"]["name"],
        "Ada </script><script>alert(1)</script> & Co"
    );
    assert_eq!(
        signed_in["session"]["session"]["id"],
        probe["session"]["id"]
    );

    // Signed out, the document says so.
    let logout = device.post("/api/auth/logout", json!({})).await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let after = boot_state(&device.get("/").await.text().await.unwrap());
    assert_eq!(after["session"]["authenticated"], false);

    // Written for each request, so compressed for it.
    let raw = reqwest::Client::builder().no_brotli().build().unwrap();
    let compressed = raw
        .get(app.url("/"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&compressed, "content-encoding"), "br");
    let bytes = compressed.bytes().await.unwrap();
    let mut html = Vec::new();
    brotli::BrotliDecompress(&mut bytes.as_ref(), &mut html).unwrap();
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains(r#"id="boot-config">{"app_name":"#), "{html}");
}

/// A built app whose document offers its first paint to the dashboard's top, minified as
/// Trunk writes it (frontend/index.html).
fn static_site_with_first_paint() -> std::path::PathBuf {
    let dir = static_site();
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><html><head><script type=\"module\">boot();</script></head><body>\
         <div id=boot class=boot data-prepaint><p class=boot-title>Session Manager</div>\
         <noscript>This app needs JavaScript.</noscript></body></html>",
    )
    .unwrap();
    dir
}

/// The dashboard's top in a signed-in browser's document (`http::prepaint`), whose name and
/// address are anyone's text: written as text, never as markup.
#[tokio::test]
async fn a_signed_in_browsers_dashboard_document_paints_its_top_with_the_name_as_text() {
    let site = static_site_with_first_paint();
    let app = spawn_app_with(move |settings| settings.server.static_dir = Some(site)).await;
    let placeholder = "<p class=boot-title>Session Manager</div>";

    let visitor = reqwest::get(app.url("/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(visitor.contains(placeholder), "{visitor}");
    assert!(!visitor.contains(r#"class="prepaint""#), "{visitor}");

    let device = app.user_with_one_session().await;
    let renamed = device
        .patch(
            "/api/me",
            json!({ "name": "Ada <img src=x onerror=alert(1)> & Co" }),
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    let html = device.get("/").await.text().await.unwrap();
    assert!(!html.contains(placeholder), "{html}");
    assert!(
        html.contains(r#"<div id="boot" class="prepaint">"#),
        "{html}"
    );
    assert!(
        html.contains("<strong>Ada &#60;img src=x onerror=alert(1)&#62; &#38; Co</strong>"),
        "{html}"
    );
    assert!(!html.contains("<img"), "{html}");
    // The banner of an unconfirmed address, on a server that only logs its mail.
    let banner = format!(
        "<span>{}<strong>ada@example.com</strong>. {}{}{}</span>",
        shared::banners::CONFIRM_ADDRESS,
        shared::banners::MAIL_IS_LOGGED,
        shared::banners::CONFIRMED_ADDRESS_RECOVERS,
        shared::banners::UNTIL_CONFIRMED_PASSWORD_ONLY,
    );
    assert!(html.contains(&banner), "{html}");
    // The rest of the document as it was: its end, the boot state.
    assert!(html.contains("<noscript>"), "{html}");
    assert_eq!(boot_state(&html)["session"]["authenticated"], true);

    // Only the dashboard's document: another page is drawn by the app alone.
    let other = device.get("/login").await.text().await.unwrap();
    assert!(other.contains(placeholder), "{other}");
}

/// A confirmed account on a server that mails no codes to new devices: no "confirm your
/// address", but the notice that its password alone protects it, as the app draws them.
#[tokio::test]
async fn a_confirmed_accounts_dashboard_document_paints_the_notice_its_protection_calls_for() {
    let site = static_site_with_first_paint();
    let (app, mailbox) = app_with_mailbox_and(move |settings| {
        settings.server.static_dir = Some(site);
        settings.mail.new_device_email_check = Some(false);
    })
    .await;
    let device = verified_user(&app, &mailbox).await;
    let html = device.get("/").await.text().await.unwrap();
    assert!(
        html.contains(r#"<div id="boot" class="prepaint">"#),
        "{html}"
    );
    assert!(!html.contains(shared::banners::CONFIRM_ADDRESS), "{html}");
    assert!(
        html.contains(&format!("<span>{}</span>", shared::banners::PASSWORD_ONLY)),
        "{html}"
    );
}

#[tokio::test]
async fn a_returning_browsers_document_preloads_the_signed_in_pages_modules() {
    let site = static_site();
    std::fs::write(
        site.join("signed-in-preloads.txt"),
        "split_dashboard-0123456789abcdef.wasm\nchunk_3-0123456789abcdef.wasm\n",
    )
    .unwrap();
    let app = spawn_app_with(move |settings| settings.server.static_dir = Some(site)).await;
    let visitor = reqwest::get(app.url("/")).await.unwrap();
    assert_eq!(visitor.status(), StatusCode::OK);
    assert_eq!(header(&visitor, "link"), "");
    let device = app.user_with_one_session().await;
    let returning = device.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(returning.status(), StatusCode::OK);
    assert_eq!(
        header(&returning, "link"),
        "</split_dashboard-0123456789abcdef.wasm>; rel=preload; as=fetch; crossorigin, \
         </chunk_3-0123456789abcdef.wasm>; rel=preload; as=fetch; crossorigin"
    );
    // Only the document: a file is served as it is, cookie or not.
    let wasm = device
        .client
        .get(app.url("/app-0123456789abcdef_bg.wasm"))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&wasm, "link"), "");
}

#[tokio::test]
async fn asvs_3_5_1_3_5_3_a_cross_site_fetch_is_refused_whatever_its_origin_says() {
    let app = spawn_app().await;
    let device = app.user_with_one_session().await;
    let send = |fetch_site: Option<&str>, origin: Option<String>| {
        let mut request = device
            .client
            .patch(app.url("/api/me"))
            .json(&json!({"name": "Changed"}));
        if let Some(site) = fetch_site {
            request = request.header("sec-fetch-site", site);
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    let own = format!("http://127.0.0.1:{}", app.port);
    // Cross-site, with or without a plausible Origin.
    assert_error(
        send(Some("cross-site"), None).await.unwrap(),
        StatusCode::FORBIDDEN,
        "forbidden_origin",
    )
    .await;
    assert_error(
        send(Some("cross-site"), Some(own.clone())).await.unwrap(),
        StatusCode::FORBIDDEN,
        "forbidden_origin",
    )
    .await;
    // Same site but not an allowed origin (another port or subdomain).
    assert_error(
        send(Some("same-site"), Some("http://127.0.0.1:1".into()))
            .await
            .unwrap(),
        StatusCode::FORBIDDEN,
        "forbidden_origin",
    )
    .await;
    // The scheme counts: https://host is another origin than http://host.
    assert_error(
        send(None, Some(format!("https://127.0.0.1:{}", app.port)))
            .await
            .unwrap(),
        StatusCode::FORBIDDEN,
        "forbidden_origin",
    )
    .await;
    // The app itself, an allowed origin, and curl (no header at all) pass.
    assert_eq!(
        send(Some("same-origin"), Some(own)).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        send(Some("same-site"), Some("http://localhost:8080".into()))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(send(None, None).await.unwrap().status(), StatusCode::OK);
    // Sensitive functions are never GET: a GET to a state change is refused, not served.
    assert_error(
        device.get("/api/auth/logout").await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}

#[tokio::test]
async fn asvs_3_5_1_what_the_origin_guard_cannot_read_with_certainty_is_refused() {
    use reqwest::header::HeaderValue;
    let app = spawn_app().await;
    let device = app.user_with_one_session().await;
    let own = format!("http://127.0.0.1:{}", app.port);
    let send = |headers: Vec<(&'static str, HeaderValue)>| {
        let mut request = device
            .client
            .patch(app.url("/api/me"))
            .json(&json!({"name": "Changed"}));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let text = |value: &str| HeaderValue::from_str(value).unwrap();
    let unreadable = [
        // An opaque origin (a sandboxed frame, a data: URL) says nothing checkable.
        vec![("origin", text("null"))],
        vec![("origin", text(""))],
        vec![("origin", text(&format!("{own}/path")))],
        // Two origins: which one is true is not certain.
        vec![
            ("origin", text(&own)),
            ("origin", text("https://evil.example")),
        ],
        // Not visible ASCII.
        vec![(
            "origin",
            HeaderValue::from_bytes(b"http://\xe9vil.example").unwrap(),
        )],
        // No Origin, and a Referer without an origin.
        vec![("referer", text("/api/me"))],
        vec![("referer", text("http://user@127.0.0.1/"))],
        // A Fetch Metadata value this server does not know.
        vec![
            ("origin", text(&own)),
            ("sec-fetch-site", text("next-door")),
        ],
    ];
    for headers in unreadable {
        let described = format!("{headers:?}");
        let response = send(headers).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{described}");
        assert_error(response, StatusCode::FORBIDDEN, "forbidden_origin").await;
    }
    // Without Origin, the Referer's origin is checked like one.
    assert_error(
        send(vec![("referer", text("https://evil.example/page"))])
            .await
            .unwrap(),
        StatusCode::FORBIDDEN,
        "forbidden_origin",
    )
    .await;
    let from_the_app = send(vec![("referer", text(&format!("{own}/dashboard")))])
        .await
        .unwrap();
    assert_eq!(from_the_app.status(), StatusCode::OK);
    // A socket handshake from an opaque origin is refused too.
    let refused = connect(
        &format!("ws://127.0.0.1:{}/api/ws", app.port),
        &[
            ("cookie", device.cookie_header()),
            ("origin", "null".into()),
        ],
    )
    .await
    .expect_err("refused");
    assert!(refused.to_string().contains("403"), "{refused}");
}

#[tokio::test]
async fn asvs_4_4_2_a_socket_handshake_from_another_site_is_refused() {
    let app = spawn_app().await;
    let device = app.user_with_one_session().await;
    let url = format!("ws://127.0.0.1:{}/api/ws", app.port);
    let cookie = device.cookie_header();
    let cross_site = connect(
        &url,
        &[
            ("cookie", cookie.clone()),
            ("sec-fetch-site", "cross-site".into()),
        ],
    )
    .await
    .expect_err("refused");
    assert!(cross_site.to_string().contains("403"), "{cross_site}");
    assert!(connect(&url, &[("cookie", cookie)]).await.is_ok());
}

#[tokio::test]
async fn asvs_4_4_3_4_4_4_the_waiting_socket_authenticates_with_its_first_message_not_its_url() {
    let app = spawn_app().await;
    app.user_with_one_session().await;
    let waiting = app
        .pending_approval("ada@example.com", FIREFOX_WINDOWS)
        .await;
    let url = format!(
        "ws://127.0.0.1:{}/api/ws/approvals/{}",
        app.port, waiting.id
    );
    let mut socket = connect(&url, &[]).await.unwrap();
    send_json(
        &mut socket,
        json!({"type": "authenticate", "pending_token": waiting.token}),
    )
    .await;
    assert!(matches!(
        next_pending_message(&mut socket).await,
        shared::ws::PendingMessage::Pending { .. }
    ));
    // A wrong token is refused, and closed with a policy violation.
    let mut wrong = connect(&url, &[]).await.unwrap();
    send_json(
        &mut wrong,
        json!({"type": "authenticate", "pending_token": "guess"}),
    )
    .await;
    assert_eq!(closed(&mut wrong).await, Some(1008));
    // Silence is no authentication either.
    let mut silent = connect(&url, &[]).await.unwrap();
    let _ = silent.close(None).await;
}

#[tokio::test]
async fn session_sockets_are_capped_per_user_and_against_big_or_frequent_messages() {
    let app = spawn_app_with(|settings| {
        settings.sockets.max_per_user = 2;
        settings.sockets.max_messages_per_minute = 5;
    })
    .await;
    let device = app.user_with_one_session().await;
    let _one = device.session_socket().await;
    let mut two = device.session_socket().await;
    let url = format!("ws://127.0.0.1:{}/api/ws", app.port);
    let third = connect(&url, &[("cookie", device.cookie_header())])
        .await
        .expect_err("a third socket is refused");
    assert!(third.to_string().contains("429"), "{third}");
    // A frame over 16 KiB: 1009.
    send_json(
        &mut two,
        json!({"type": "deny", "approval_id": "x".repeat(20_000)}),
    )
    .await;
    assert_eq!(closed(&mut two).await, Some(1009));
    // Too many messages in a minute: 1008.
    let mut chatty = device.session_socket().await;
    for _ in 0..6 {
        send_json(&mut chatty, json!({"type": "nonsense"})).await;
    }
    let mut code = None;
    for _ in 0..10 {
        match tokio::time::timeout(
            Duration::from_secs(5),
            futures_util::StreamExt::next(&mut chatty),
        )
        .await
        {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame)))) => {
                code = frame.map(|frame| u16::from(frame.code));
                break;
            }
            Ok(Some(Ok(_))) => continue,
            _ => break,
        }
    }
    assert_eq!(code, Some(1008));
}

#[tokio::test]
async fn a_message_in_fragments_over_16_kib_closes_like_one_big_frame() {
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    let app = spawn_app().await;
    let device = app.user_with_one_session().await;
    let mut socket = device.session_socket().await;
    let fragment = "x".repeat(6 * 1024);
    // Each fragment is well under the frame limit; the three together are not.
    let frames = [
        Frame::message(fragment.clone(), OpCode::Data(Data::Text), false),
        Frame::message(fragment.clone(), OpCode::Data(Data::Continue), false),
        Frame::message(fragment, OpCode::Data(Data::Continue), true),
    ];
    for frame in frames {
        futures_util::SinkExt::send(&mut socket, Message::Frame(frame))
            .await
            .unwrap();
    }
    assert_eq!(closed(&mut socket).await, Some(1009));
}

#[tokio::test]
async fn the_client_address_is_the_rightmost_untrusted_entry_of_every_forwarded_for_line() {
    let app = spawn_app_with(|settings| {
        settings.server.trusted_proxies = vec![
            "127.0.0.0/8".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
    })
    .await;
    let sign_up = |forwarded: Vec<&'static str>, email: &'static str| {
        let mut request = app
            .device(CHROME_LINUX)
            .client
            .post(app.url("/api/auth/signup"))
            .json(&json!({"email": email, "password": PASSWORD, "name": "Ada"}));
        for line in forwarded {
            request = request.header("x-forwarded-for", line);
        }
        request.send()
    };
    let ip = |response: reqwest::Response| async move {
        let body: Value = response.json().await.unwrap();
        body["session"]["ip"].as_str().unwrap().to_owned()
    };
    // The client's own entry on the left is never believed over what the proxies appended.
    assert_eq!(
        ip(
            sign_up(vec!["6.6.6.6, 203.0.113.9, 10.1.2.3"], "a@example.com")
                .await
                .unwrap()
        )
        .await,
        "203.0.113.9"
    );
    // Every line counts, in order.
    assert_eq!(
        ip(sign_up(vec!["6.6.6.6", "203.0.113.10"], "b@example.com")
            .await
            .unwrap())
        .await,
        "203.0.113.10"
    );
    // An ip:port entry stops the walk at the proxy: never the client-written 6.6.6.6.
    assert_eq!(
        ip(sign_up(vec!["6.6.6.6, 10.9.8.7:5555"], "c@example.com")
            .await
            .unwrap())
        .await,
        "127.0.0.1"
    );
}

#[tokio::test]
async fn asvs_6_2_4_6_2_11_common_and_guessable_passwords_are_refused_with_a_reason() {
    let app = spawn_app().await;
    let device = app.device(CHROME_LINUX);
    for weak in [
        "password1234",
        "qwertyuiop123",
        "adalovelace1",
        "ada@example.com",
    ] {
        let body = assert_error(
            device
                .post(
                    "/api/auth/signup",
                    json!({"email": "ada@example.com", "password": weak, "name": "Ada Lovelace"}),
                )
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "weak_password",
        )
        .await;
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .starts_with("This password is too easy to guess"),
            "{body}"
        );
    }
    // The app shows the same verdict as the user types.
    let strength: Value = device
        .post(
            "/api/password/strength",
            json!({"password": "password1234", "email": "ada@example.com"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(strength["acceptable"], false);
    assert!(strength["score"].as_u64().unwrap() < 3);
    let strong: Value = device
        .post("/api/password/strength", json!({"password": PASSWORD}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(strong["acceptable"], true);
}

#[tokio::test]
async fn asvs_6_2_8_6_2_9_long_passwords_are_accepted_and_checked_whole() {
    let app = spawn_app().await;
    let long: String = "violet staple horizon quartz ".repeat(4);
    assert!(long.chars().count() >= 64);
    let device = app.device(CHROME_LINUX);
    let signup = device
        .post(
            "/api/auth/signup",
            json!({"email": "ada@example.com", "password": long, "name": "Ada"}),
        )
        .await;
    assert_eq!(signup.status(), StatusCode::CREATED);
    device.post("/api/auth/logout", json!({})).await;
    // The last character counts: nothing is truncated.
    let almost = format!("{}X", &long[..long.len() - 1]);
    assert_error(
        app.device(CHROME_LINUX)
            .login("ada@example.com", &almost)
            .await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_eq!(
        app.device(CHROME_LINUX)
            .login("ada@example.com", &long)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn asvs_6_3_1_signups_from_one_address_are_rate_limited() {
    let app = spawn_app_with(|settings| settings.throttle.signup_max_per_ip = 3).await;
    for i in 0..3 {
        assert_eq!(
            app.device(CHROME_LINUX)
                .post(
                    "/api/auth/signup",
                    json!({"email": format!("user{i}@example.com"), "password": PASSWORD, "name": "U"}),
                )
                .await
                .status(),
            StatusCode::CREATED
        );
    }
    let response = app
        .device(CHROME_LINUX)
        .post(
            "/api/auth/signup",
            json!({"email": "user9@example.com", "password": PASSWORD, "name": "U"}),
        )
        .await;
    assert!(!header(&response, "retry-after").is_empty());
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_signups").await;
}

#[tokio::test]
async fn asvs_6_3_1_a_known_device_signs_in_while_guesses_keep_the_account_locked_for_others() {
    let app = spawn_app_with(|settings| settings.throttle.login_max_failures = 3).await;
    // The owner's phone signed in before: it carries a device cookie.
    let phone = app.user_with_one_session().await;
    phone.post("/api/auth/logout", json!({})).await;
    let attacker = app.device(FIREFOX_WINDOWS);
    for _ in 0..5 {
        attacker.login("ada@example.com", "a wrong guess").await;
    }
    assert_error(
        attacker.login("ada@example.com", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
    )
    .await;
    assert_error(
        app.device(SAFARI_IPHONE)
            .login("ada@example.com", PASSWORD)
            .await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
    )
    .await;
    // The owner's known device still gets in with the right password.
    assert_eq!(
        phone.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    // A device cookie proves one account only.
    let stolen = app.device(FIREFOX_WINDOWS);
    let cookie = format!("sm_device={}", phone.cookie_value("sm_device").unwrap());
    let response = stolen
        .client
        .post(app.url("/api/auth/login"))
        .header("cookie", cookie)
        .json(&json!({"email": "bob@example.com", "password": "whatever it is"}))
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[tokio::test]
async fn asvs_6_3_1_guesses_from_elsewhere_do_not_stop_the_signed_in_owner_changing_the_password() {
    let app = spawn_app_with(|settings| settings.throttle.login_max_failures = 3).await;
    let owner = app.user_with_one_session().await;
    let attacker = app.device(FIREFOX_WINDOWS);
    for _ in 0..5 {
        attacker.login("ada@example.com", "a wrong guess").await;
    }
    assert_error(
        attacker.login("ada@example.com", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
    )
    .await;
    // The owner, signed in, proves the current password on the session's own slot.
    let changed = owner
        .post(
            "/api/me/password",
            json!({"current_password": PASSWORD, "new_password": "a fresh and long passphrase"}),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    // The account stays locked for the guesser.
    assert_error(
        attacker
            .login("ada@example.com", "a fresh and long passphrase")
            .await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
    )
    .await;
}

#[tokio::test]
async fn asvs_6_3_1_a_session_guessing_its_current_password_is_throttled_and_the_account_counts_it()
{
    let app = spawn_app_with(|settings| settings.throttle.login_max_failures = 3).await;
    let stolen = app.user_with_one_session().await;
    let change = async |current: &str| {
        stolen
            .post(
                "/api/me/password",
                json!({"current_password": current, "new_password": "a fresh and long passphrase"}),
            )
            .await
    };
    for guess in ["guess one", "guess two", "guess three"] {
        assert_error(change(guess).await, StatusCode::FORBIDDEN, "wrong_password").await;
    }
    // Even the right password is refused now, on this session.
    let refused = change(PASSWORD).await;
    assert!(!header(&refused, "retry-after").is_empty());
    assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    // Its guesses counted against the account: a login from elsewhere waits too.
    assert_error(
        app.device(SAFARI_IPHONE)
            .login("ada@example.com", PASSWORD)
            .await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
    )
    .await;
    app.clock.advance(chrono::Duration::minutes(16));
    // (Past sudo mode's window too: the password again first.)
    stolen.reauthenticate().await;
    assert_eq!(change(PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn signup_takes_a_bare_address_only_and_one_mailbox_gets_one_account() {
    let app = spawn_app_with(|settings| settings.throttle.signup_max_per_ip = 100).await;
    let signup = async |email: &str| {
        app.device(CHROME_LINUX)
            .post(
                "/api/auth/signup",
                json!({"email": email, "password": PASSWORD, "name": "Ada"}),
            )
            .await
    };
    // A display name would be the signup's words in the mail's To:, and each form a new
    // account for one mailbox.
    for display_form in [
        "Name <a@b.c>",
        "name<a@b.c>",
        "<a@b.c>",
        "\"a\"@b.c",
        "a(comment)@b.c",
    ] {
        assert_error(
            signup(display_form).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
        )
        .await;
    }
    assert_eq!(signup("a@example.com").await.status(), StatusCode::CREATED);
    assert_error(
        signup("A@Example.COM").await,
        StatusCode::CONFLICT,
        "email_taken",
    )
    .await;
    let stored = app.sql("SELECT email FROM users").await;
    assert_eq!(stored, vec![json!({"email": "a@example.com"})]);
    // Signing in normalises the same way.
    let again = app.device(FIREFOX_WINDOWS);
    assert_eq!(
        again.login(" A@EXAMPLE.com", PASSWORD).await.status(),
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn asvs_6_3_3_an_account_its_password_alone_protects_is_told_so_until_a_second_factor_covers_it()
 {
    let (app, mailbox) = crate::support::app_with_mailbox().await;
    let device = app.user_with_one_session().await;
    let user = async |device: &Device| -> Value {
        let me: Value = device.me().await.json().await.unwrap();
        let probe: Value = device.get("/api/auth/session").await.json().await.unwrap();
        assert_eq!(me["user"], probe["user"]);
        me["user"].clone()
    };
    // Unconfirmed: whoever has the password signs in while no device is signed in.
    assert_eq!(user(&device).await["password_only"], true);
    let mail = crate::support::mail_with_subject(&mailbox, "Confirm your e-mail address").await;
    let confirmed = device
        .post(
            "/api/auth/verify-email",
            json!({"token": mail.link_token()}),
        )
        .await;
    let confirmed: Value = confirmed.json().await.unwrap();
    assert_eq!(confirmed["password_only"], false);
    // Confirmed, on a server that mails codes to new devices: the mailbox covers it.
    assert_eq!(user(&device).await["password_only"], false);

    // A server that mails no codes (NEW_DEVICE_EMAIL_CHECK=off): the password alone, always.
    let unchecked =
        spawn_app_with(|settings| settings.mail.new_device_email_check = Some(false)).await;
    let device = unchecked.user_with_one_session().await;
    unchecked
        .execute("UPDATE users SET email_verified_at = now()")
        .await;
    let user = user(&device).await;
    assert_eq!(user["email_verified"], true);
    assert_eq!(user["password_only"], true);
}

#[tokio::test]
async fn user_agents_and_names_are_stored_without_controls_or_bidi_overrides() {
    let app = spawn_app().await;
    let device = app.device("Chrome/120\u{202E}swodniW");
    let response = device
        .post(
            "/api/auth/signup",
            json!({"email": "ada@example.com", "password": PASSWORD, "name": "Ada\u{202E}ecalevoL"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let rows = app.sql("SELECT user_agent, browser FROM sessions").await;
    assert!(!rows[0]["user_agent"].as_str().unwrap().contains('\u{202E}'));
    assert!(!rows[0]["browser"].as_str().unwrap().contains('\u{202E}'));
    let users = app.sql("SELECT name FROM users").await;
    assert_eq!(users[0]["name"], "AdaecalevoL");
}
