//! Forward authentication's rules: which URL a proxy says it protects, where a browser
//! may be sent back to after signing in, and how identity travels in a header.

use url::Url;

/// The URL a proxy is checking, as it reports it: `X-Original-URL` (nginx), else
/// `X-Forwarded-Proto` + `X-Forwarded-Host` + `X-Forwarded-Uri` (Traefik, Caddy). Only an
/// absolute http(s) URL counts. The caller reads these only from a trusted proxy.
#[derive(Debug, Clone, Copy, Default)]
pub struct Forwarded<'a> {
    pub original_url: Option<&'a str>,
    pub proto: Option<&'a str>,
    pub host: Option<&'a str>,
    pub uri: Option<&'a str>,
}

impl Forwarded<'_> {
    pub fn original_url(&self) -> Option<Url> {
        let written = match (self.original_url, self.proto, self.host) {
            (Some(url), _, _) => url.to_owned(),
            (None, Some(proto), Some(host)) => {
                let uri = self.uri.filter(|uri| uri.starts_with('/')).unwrap_or("/");
                format!("{proto}://{host}{uri}")
            }
            _ => return None,
        };
        Url::parse(&written)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
    }
}

/// `url` as the sign-in page may return to it: only when its origin is one of `allowed`
/// (never a URL with credentials in it). Anything else is ignored: no open redirect.
pub fn allowed_return_to(url: &Url, allowed: &[String]) -> Option<String> {
    let origin = url.origin().ascii_serialization();
    (url.username().is_empty() && url.password().is_none() && allowed.contains(&origin))
        .then(|| url.as_str().to_owned())
}

/// The app's sign-in page, with the URL to return to when there is one.
pub fn sign_in_url(public_url: &str, return_to: Option<&str>) -> String {
    let page = format!("{public_url}{}", shared::routes::SIGN_IN_PAGE);
    match return_to {
        Some(return_to) => {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair(shared::routes::RETURN_TO, return_to)
                .finish();
            format!("{page}?{query}")
        }
        None => page,
    }
}

/// Whether the proxy holds a browser's page load (`GET`, and an `Accept` naming HTML),
/// which a redirect suits; a script's request gets the 401 instead.
pub fn is_browser_navigation(method: Option<&str>, accept: Option<&str>) -> bool {
    method.is_some_and(|method| method.eq_ignore_ascii_case("GET"))
        && accept.is_some_and(|accept| accept.to_ascii_lowercase().contains("text/html"))
}

/// Text as a header value: printable ASCII as is, anything else (and `%`) percent-encoded
/// as UTF-8, so a display name such as "Zoë" arrives intact and unambiguous ("Zo%C3%AB").
pub fn header_text(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if (b' '..=b'~').contains(&byte) && byte != b'%' {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        vec!["https://app.example.com".to_owned()]
    }

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap_or_else(|_| unreachable!("{text}"))
    }

    #[test]
    fn the_original_url_comes_from_x_original_url_or_the_forwarded_parts() {
        let nginx = Forwarded {
            original_url: Some("https://app.example.com/reports?q=1&b=2"),
            ..Forwarded::default()
        };
        assert_eq!(
            nginx.original_url().map(String::from).as_deref(),
            Some("https://app.example.com/reports?q=1&b=2")
        );
        let traefik = Forwarded {
            proto: Some("https"),
            host: Some("app.example.com"),
            uri: Some("/a/b?c=d"),
            ..Forwarded::default()
        };
        assert_eq!(
            traefik.original_url().map(String::from).as_deref(),
            Some("https://app.example.com/a/b?c=d")
        );
        for refused in ["javascript:alert(1)", "/relative", "ftp://app.example.com/"] {
            let forwarded = Forwarded {
                original_url: Some(refused),
                ..Forwarded::default()
            };
            assert!(forwarded.original_url().is_none(), "{refused}");
        }
    }

    #[test]
    fn only_a_listed_origin_is_returned_to() {
        assert_eq!(
            allowed_return_to(&url("https://app.example.com/x?y=1"), &allowed()).as_deref(),
            Some("https://app.example.com/x?y=1")
        );
        for foreign in [
            "https://evil.example/",
            "http://app.example.com/",
            "https://app.example.com:8443/",
            "https://app.example.com.evil.example/",
            "https://app.example.com@evil.example/",
            "https://user:pw@app.example.com/",
        ] {
            assert_eq!(
                allowed_return_to(&url(foreign), &allowed()),
                None,
                "{foreign}"
            );
        }
    }

    #[test]
    fn the_sign_in_url_carries_the_return_url_encoded() {
        assert_eq!(
            sign_in_url(
                "https://auth.example.com",
                Some("https://app.example.com/a?b=1&c=2")
            ),
            "https://auth.example.com/login?return_to=https%3A%2F%2Fapp.example.com%2Fa%3Fb%3D1%26c%3D2"
        );
        assert_eq!(
            sign_in_url("https://auth.example.com", None),
            "https://auth.example.com/login"
        );
    }

    #[test]
    fn a_page_load_is_a_get_that_accepts_html() {
        assert!(is_browser_navigation(
            Some("GET"),
            Some("text/html,application/xhtml+xml")
        ));
        assert!(!is_browser_navigation(Some("POST"), Some("text/html")));
        assert!(!is_browser_navigation(
            Some("GET"),
            Some("application/json")
        ));
        assert!(!is_browser_navigation(None, Some("text/html")));
    }

    #[test]
    fn header_text_keeps_printable_ascii_and_encodes_the_rest() {
        assert_eq!(header_text("Ada Lovelace"), "Ada Lovelace");
        assert_eq!(header_text("Zoë 100%"), "Zo%C3%AB 100%25");
        assert_eq!(header_text("a\r\nb"), "a%0D%0Ab");
    }
}
