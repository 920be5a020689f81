//! Serves the built app (`STATIC_DIR`, e.g. `dist/`) as a production site: files as they
//! are — precompressed (brotli, gzip) when the browser accepts it, hashed assets cached for
//! a year — and `index.html` for any other non-API path, so that client-side routes survive
//! a reload. The document carries the app's boot state (`shared::BootState`: who is signed
//! in), so it is written for each request and never stored. Its Content-Security-Policy
//! allows its scripts by hash (`SpaPolicy`).

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use shared::BootState;

use crate::config::Settings;
use crate::error::Error;
use crate::http::boot;
use crate::http::error::ApiError;
use crate::http::prepaint;
use crate::state::AppState;

/// The Content-Security-Policy of the app's document, built once from the configuration
/// and the built app: never from a request's headers (a crafted `Host` would otherwise
/// write its own directives into the page, for everyone behind a cache that does not key
/// on `Host`).
#[derive(Debug, Clone)]
pub struct SpaPolicy {
    header: String,
}

impl SpaPolicy {
    /// The policy for the app in `dir` (`STATIC_DIR`), if any, served as `settings` say.
    /// Its scripts are allowed by the hashes written at build time; without that file (an
    /// app built another way), by hashes of `index.html`'s scripts computed now.
    pub fn load(dir: Option<&Path>, settings: &Settings) -> Self {
        let script_hashes = dir.map(script_hashes).unwrap_or_default();
        Self::new(&script_hashes, settings)
    }

    fn new(script_hashes: &[String], settings: &Settings) -> Self {
        let scripts = script_hashes.join(" ");
        let sockets = socket_sources(settings);
        let header = format!(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' {scripts}; \
             style-src 'self'; img-src 'self' data:; connect-src 'self'{sockets}; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; \
             report-uri /api/csp-reports"
        );
        Self { header }
    }

    pub fn header(&self) -> &str {
        &self.header
    }
}

/// `'sha256-…'` of each inline script of the app's `index.html` (the script that starts the app), as
/// `scripts/build-frontend` wrote them into `csp-script-hashes.txt`.
fn script_hashes(dir: &Path) -> Vec<String> {
    match std::fs::read_to_string(dir.join("csp-script-hashes.txt")) {
        Ok(text) => text
            .lines()
            .map(str::trim)
            .filter(|line| line.starts_with("'sha256-"))
            .map(str::to_owned)
            .collect(),
        Err(_) => {
            tracing::warn!(
                dir = %dir.display(),
                "no csp-script-hashes.txt (scripts/build-frontend writes it): hashing index.html's scripts now"
            );
            std::fs::read_to_string(dir.join("index.html"))
                .map(|html| inline_script_hashes(&html))
                .unwrap_or_default()
        }
    }
}

/// ` ws://host[:port]` (`wss:` for HTTPS) of `PUBLIC_URL` and of each `ALLOWED_ORIGINS`:
/// the app's sockets for browsers whose `'self'` does not cover `ws:` (CSP 3 browsers need
/// none of them).
fn socket_sources(settings: &Settings) -> String {
    let mut sources: Vec<String> = Vec::new();
    let public_url = settings.server.public_url();
    for url in std::iter::once(&public_url).chain(&settings.server.allowed_origins) {
        match socket_source(url) {
            Some(source) if !sources.contains(&source) => sources.push(source),
            Some(_) => {}
            None => tracing::warn!(url, "not an http(s) origin: left out of the app's CSP"),
        }
    }
    sources.iter().map(|source| format!(" {source}")).collect()
}

/// The socket origin of an http(s) URL: `wss://host[:port]` for `https://host[:port]/…`.
/// Anything but a plain host and port is refused, so that no configuration can add a
/// directive either.
fn socket_source(url: &str) -> Option<String> {
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("https://") {
        ("wss", rest)
    } else {
        ("ws", url.strip_prefix("http://")?)
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let plain = !authority.is_empty()
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    plain.then(|| format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

/// `'sha256-…'` of the text of each inline `<script>` (what browsers hash: the exact
/// characters between the tags).
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let Some(after_start) = rest.get(start..) else {
            break;
        };
        let Some(open_end) = after_start.find('>') else {
            break;
        };
        let tag = after_start.get(..open_end).unwrap_or_default();
        let Some(body_and_rest) = after_start.get(open_end + 1..) else {
            break;
        };
        let Some(close) = body_and_rest.find("</script>") else {
            break;
        };
        let body = body_and_rest.get(..close).unwrap_or_default();
        if !tag.contains("src=") && !body.trim().is_empty() {
            let digest = Sha256::digest(body.as_bytes());
            hashes.push(format!("'sha256-{}'", STANDARD.encode(digest)));
        }
        rest = body_and_rest.get(close..).unwrap_or_default();
    }
    hashes
}

/// The built app as the server serves it: its directory, and what a returning browser's
/// document asks the browser to fetch at once.
#[derive(Debug, Clone)]
pub struct Spa {
    dir: PathBuf,
    session_cookie_name: String,
    /// A `Link` header preloading the signed-in page's modules (`signed-in-preloads.txt`,
    /// written by `scripts/build-frontend`), sent with the document when the request carries a
    /// session cookie: the dashboard's module then downloads beside the main one, instead of
    /// after it has started. A cookie that turns out stale costs a download the browser caches
    /// for a year.
    signed_in_preloads: Option<header::HeaderValue>,
}

impl Spa {
    pub fn load(dir: PathBuf, session_cookie_name: String) -> Self {
        let signed_in_preloads = std::fs::read_to_string(dir.join("signed-in-preloads.txt"))
            .ok()
            .and_then(|text| preload_header(&text));
        Self {
            dir,
            session_cookie_name,
            signed_in_preloads,
        }
    }

    pub fn service(self) -> actix_web::Route {
        web::to(move |request: HttpRequest, state: web::Data<AppState>| {
            let spa = self.clone();
            async move { spa.serve(&request, &state).await }
        })
    }

    async fn serve(
        &self,
        request: &HttpRequest,
        state: &AppState,
    ) -> Result<HttpResponse, ApiError> {
        let (file, mut response) = serve(&self.dir, request).await?;
        if is_document(&file) {
            if let Some(preloads) = &self.signed_in_preloads
                && request.cookie(&self.session_cookie_name).is_some()
            {
                response.insert_header((header::LINK, preloads.clone()));
            }
            match tokio::time::timeout(BOOT_STATE_WAIT, boot::session_probe(state, request)).await {
                Ok(Ok(session)) => {
                    let boot_state = BootState {
                        config: boot::client_config(state),
                        session,
                    };
                    response.body = with_boot_state(&response.body, &boot_state)?;
                    if request.path() == shared::routes::DASHBOARD_PAGE
                        && let Some(user) = &boot_state.session.user
                    {
                        // Without it the page is painted when the app has loaded, as before.
                        match prepaint::dashboard_top(&boot_state.config, user) {
                            Ok(top) => {
                                response.body = prepaint::with_prepaint(&response.body, &top)
                            }
                            Err(error) => {
                                tracing::warn!(%error, "the dashboard's top left out of its document")
                            }
                        }
                    }
                }
                // The app asks for itself, and shows the outage.
                Ok(Err(error)) => {
                    tracing::warn!(
                        error = %error.chain(),
                        "the app's document goes without its boot state"
                    );
                }
                Err(_) => tracing::warn!(
                    waited_ms = BOOT_STATE_WAIT.as_millis(),
                    "the app's document goes without its boot state: the database is slow"
                ),
            }
            // Written for this request, so compressed for it (the files' copies are made at build).
            if accepts(request, "br")
                && let Some(compressed) = brotli(&response.body)
            {
                response.body = compressed;
                response.insert_header((header::CONTENT_ENCODING, "br"));
            }
        }
        Ok(response.finish_with_body())
    }
}

/// How long the document waits for the database to say who is signed in. Past it, the page
/// comes without its boot state and the app asks (a slow or absent database shows as the
/// app's outage banner, not as a blank page).
const BOOT_STATE_WAIT: Duration = Duration::from_millis(300);

fn is_document(file: &Path) -> bool {
    file.file_name().is_some_and(|name| name == "index.html")
}

/// The document with `boot_state` in two JSON data blocks before `</body>` (a data block runs
/// nothing, so the CSP's script hashes do not name it). `<`, `>` and `&` are written as JSON
/// escapes: no text of the state (a user's name) can close a block or open a tag.
pub fn with_boot_state(document: &[u8], boot_state: &BootState) -> Result<Vec<u8>, ApiError> {
    let blocks = data_block(shared::BOOT_CONFIG_ID, &boot_state.config)?
        + &data_block(shared::BOOT_SESSION_ID, &boot_state.session)?;
    const BODY_END: &[u8] = b"</body>";
    let end = document
        .windows(BODY_END.len())
        .rposition(|window| window == BODY_END)
        .unwrap_or(document.len());
    let (head, tail) = document.split_at(end);
    Ok([head, blocks.as_bytes(), tail].concat())
}

fn data_block(id: &str, value: &impl serde::Serialize) -> Result<String, ApiError> {
    let json = serde_json::to_string(value).map_err(|error| ApiError(Error::internal(error)))?;
    let json = json
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    Ok(format!(
        r#"<script type="application/json" id="{id}">{json}</script>"#
    ))
}

/// `</file>; rel=preload; as=fetch; crossorigin, …` for each build-hashed file name listed
/// (one per line; anything else is skipped: a header is never built from odd text). `as=fetch`
/// with `crossorigin`: the mode and credentials of the `fetch()` the module loader makes, so
/// the browser hands the preloaded bytes to it.
fn preload_header(listing: &str) -> Option<header::HeaderValue> {
    let links: Vec<String> = listing
        .lines()
        .map(str::trim)
        .filter(|name| {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                && is_hashed(Path::new(name))
        })
        .map(|name| format!("</{name}>; rel=preload; as=fetch; crossorigin"))
        .collect();
    if links.is_empty() {
        return None;
    }
    header::HeaderValue::from_str(&links.join(", ")).ok()
}

/// Names made by the build (Trunk's, and scripts/build-frontend's for the wasm modules and
/// their loader) end in `-<16 hex digits>` before the extension: their content never changes
/// under that name.
fn is_hashed(file: &Path) -> bool {
    file.file_stem()
        .and_then(|stem| stem.to_str())
        .map(|stem| stem.trim_end_matches("_bg"))
        .and_then(|stem| stem.rsplit_once('-'))
        .is_some_and(|(_, hash)| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The file a request names (or the document), with the response's headers; the caller adds
/// its own and the body.
async fn serve(dir: &Path, request: &HttpRequest) -> Result<(PathBuf, PreparedResponse), ApiError> {
    let path = request.path();
    if path.starts_with("/api/")
        || path == shared::routes::HEALTHZ
        || path == shared::routes::READYZ
    {
        return Err(crate::http::known_routes::unmatched(request).into());
    }
    let relative = Path::new(path.trim_start_matches('/'));
    // Never leave the directory.
    if relative
        .components()
        .any(|component| !matches!(component, Component::Normal(_)))
    {
        return Err(Error::NotFound("No such file").into());
    }
    let candidate = dir.join(relative);
    let exists = !path.ends_with('/')
        && tokio::fs::metadata(&candidate)
            .await
            .is_ok_and(|meta| meta.is_file());
    // A build's file that is not there (an open tab of an earlier deployment asking for one
    // of its lazy modules) is not a page of the app: 404, not the document.
    if !exists && is_hashed(relative) {
        return Err(Error::NotFound("No such file").into());
    }
    let file = if exists {
        candidate
    } else {
        dir.join("index.html")
    };
    let mut body = None;
    let mut encoding = None;
    // The document is written anew for each request (its boot state): sent as it is.
    let encodings: &[(&str, &str)] = if is_document(&file) {
        &[]
    } else {
        &[("br", "br"), ("gzip", "gz")]
    };
    for &(name, extension) in encodings {
        if accepts(request, name) {
            let mut compressed = file.clone().into_os_string();
            compressed.push(".");
            compressed.push(extension);
            if let Ok(bytes) = tokio::fs::read(&compressed).await {
                body = Some(bytes);
                encoding = Some(name);
                break;
            }
        }
    }
    let body = match body {
        Some(body) => body,
        None => tokio::fs::read(&file)
            .await
            .map_err(|_| Error::NotFound("No such file"))?,
    };
    let mut response = HttpResponse::Ok();
    response.insert_header((header::CONTENT_TYPE, content_type(&file)));
    response.insert_header((header::VARY, "Accept-Encoding"));
    if let Some(encoding) = encoding {
        response.insert_header((header::CONTENT_ENCODING, encoding));
    }
    let caching = if is_document(&file) {
        // It tells who is signed in.
        "no-store"
    } else if is_hashed(&file) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=3600"
    };
    response.insert_header((header::CACHE_CONTROL, caching));
    Ok((file, PreparedResponse { response, body }))
}

/// Whether the request's `Accept-Encoding` takes `encoding`.
fn accepts(request: &HttpRequest, encoding: &str) -> bool {
    request
        .headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            parts.next().is_some_and(|name| name.trim() == encoding)
                && !parts.any(|param| param.trim().replace(' ', "") == "q=0")
        })
}

/// Brotli at a quality that takes microseconds for a document of a few KB (scripts/bench
/// counts the document so).
pub fn brotli(bytes: &[u8]) -> Option<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 5,
        ..Default::default()
    };
    let mut compressed = Vec::with_capacity(bytes.len());
    brotli::BrotliCompress(&mut &*bytes, &mut compressed, &params).ok()?;
    Some(compressed)
}

/// A response whose headers may still change.
struct PreparedResponse {
    response: actix_web::HttpResponseBuilder,
    body: Vec<u8>,
}

impl PreparedResponse {
    fn insert_header(&mut self, header: impl actix_web::http::header::TryIntoHeaderPair) {
        self.response.insert_header(header);
    }

    fn finish_with_body(mut self) -> HttpResponse {
        self.response.body(self.body)
    }
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|ext| ext.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_hashed_and_external_ones_are_not() {
        let html =
            "<head><script type=\"module\">init();</script><script src=\"/a.js\"></script></head>";
        let hashes = inline_script_hashes(html);
        let expected = STANDARD.encode(Sha256::digest(b"init();"));
        assert_eq!(hashes, vec![format!("'sha256-{expected}'")]);
        let mut settings = Settings::for_tests("postgres://unused");
        settings.server.public_url = Some("https://example.com/app".to_owned());
        settings.server.allowed_origins = vec![
            "http://localhost:8080".to_owned(),
            "https://example.com".to_owned(),
        ];
        let policy = SpaPolicy::new(&hashes, &settings);
        let header = policy.header();
        assert!(header.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"));
        assert!(header.contains("connect-src 'self' wss://example.com ws://localhost:8080;"));
        assert!(!header.contains("unsafe-inline"));
    }

    #[test]
    fn only_plain_http_origins_become_socket_sources() {
        assert_eq!(
            socket_source("http://127.0.0.1:8000").as_deref(),
            Some("ws://127.0.0.1:8000")
        );
        assert_eq!(
            socket_source("https://Sessions.Example/app?x#y").as_deref(),
            Some("wss://sessions.example")
        );
        assert_eq!(
            socket_source("http://[::1]:8000").as_deref(),
            Some("ws://[::1]:8000")
        );
        for odd in [
            "ftp://example.com",
            "https://",
            "https://evil.example; frame-ancestors *",
            "https://user@example.com",
            "example.com",
        ] {
            assert_eq!(socket_source(odd), None, "{odd}");
        }
    }

    #[test]
    fn only_build_hashed_plain_names_are_preloaded() {
        let listing = "# written by scripts/build-frontend\n\
                       split_dashboard-0123456789abcdef.wasm\n\
                       chunk_3-0123456789abcdef.wasm\n\
                       ../secret-0123456789abcdef.wasm\n\
                       index.html\n\
                       evil-0123456789abcdef.wasm>; rel=stylesheet\n";
        let header = preload_header(listing).unwrap();
        assert_eq!(
            header.to_str().unwrap(),
            "</split_dashboard-0123456789abcdef.wasm>; rel=preload; as=fetch; crossorigin, \
             </chunk_3-0123456789abcdef.wasm>; rel=preload; as=fetch; crossorigin"
        );
        assert!(preload_header("index.html\n\n").is_none());
    }

    #[test]
    fn only_build_hashed_names_are_immutable() {
        assert!(is_hashed(Path::new("frontend-6da5edca3de934dc_bg.wasm")));
        assert!(is_hashed(Path::new(
            "split_dashboard-6da5edca3de934dc.wasm"
        )));
        assert!(is_hashed(Path::new("chunk_3-6da5edca3de934dc.wasm")));
        assert!(is_hashed(Path::new("split-6da5edca3de934dc.js")));
        assert!(is_hashed(Path::new("style-cd19d143a5c441d7.css")));
        assert!(!is_hashed(Path::new("index.html")));
        assert!(!is_hashed(Path::new("robots.txt")));
    }
}
