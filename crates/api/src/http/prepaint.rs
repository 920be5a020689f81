//! The dashboard's top in a signed-in browser's document: its bar (the app's name, who is
//! signed in) and the banner about the account's address, as HTML the browser paints before
//! the app has loaded. The app draws the same top in the same place, hidden under this one,
//! and removes this one once that frame is painted (`paint::drop_prepaint_after_next_paint`),
//! so nothing moves; its buttons here wait, disabled.
//!
//! Why: that top holds the page's largest text (Lighthouse's LCP element), which otherwise
//! waited for the dashboard's wasm, about 100 KiB more on a slow link (BENCHMARKS.md).

use askama::Template;
use shared::{ClientConfig, MailDelivery, User, banners};

#[derive(Template)]
#[template(path = "prepaint.html")]
struct DashboardTop<'a> {
    app_name: &'a str,
    user: &'a User,
    /// Where the confirmation link went (mailed, or the server's log).
    after_address: String,
}

/// The dashboard's top for `user`, as the app would first draw it.
pub fn dashboard_top(config: &ClientConfig, user: &User) -> askama::Result<String> {
    DashboardTop {
        app_name: &config.app_name,
        user,
        after_address: banners::after_address(config.mail_delivery == MailDelivery::Log),
    }
    .render()
}

/// The document with its first paint (`<div id="boot" …>…</div>`) replaced by `prepaint`,
/// where the document offers it (`data-prepaint` in that tag: an app that keeps a prepaint
/// until its own top is drawn, where an earlier build removed the placeholder as it started).
/// The placeholder holds no `div` of its own: its end is the first `</div>` after it. Its tag
/// may be minified (`<div id=boot class=boot data-prepaint>`). Unchanged otherwise.
pub fn with_prepaint(document: &[u8], prepaint: &str) -> Vec<u8> {
    let around_slot = || {
        let mut from = 0;
        let (start, tag_end) = loop {
            let start = find(document, b"<div", from)?;
            let tag_end = find(document, b">", start)?;
            if offers_prepaint(document.get(start..tag_end)?) {
                break (start, tag_end);
            }
            from = tag_end;
        };
        let end = find(document, b"</div>", tag_end)?.checked_add(b"</div>".len())?;
        Some((document.get(..start)?, document.get(end..)?))
    };
    match around_slot() {
        Some((head, tail)) => [head, prepaint.as_bytes(), tail].concat(),
        None => document.to_vec(),
    }
}

/// Whether an opening tag is the first paint's (`id="boot"`, quoted or not) and offers its
/// place (`data-prepaint`).
fn offers_prepaint(tag: &[u8]) -> bool {
    let Ok(tag) = std::str::from_utf8(tag) else {
        return false;
    };
    let attributes: Vec<String> = tag
        .split_ascii_whitespace()
        .map(|attribute| attribute.replace(['"', '\''], ""))
        .collect();
    let has = |wanted: &str| attributes.iter().any(|attribute| attribute == wanted);
    has(&format!("id={}", shared::BOOT_ID)) && (has("data-prepaint") || has("data-prepaint="))
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)?
        .checked_add(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCUMENT: &str = r#"<body><div id="boot" class="boot" data-prepaint><p>Session Manager</p></div><noscript>x</noscript></body>"#;

    #[test]
    fn the_placeholder_that_offers_it_gives_way_to_the_prepaint() {
        let written = with_prepaint(DOCUMENT.as_bytes(), "<div>top</div>");
        assert_eq!(
            String::from_utf8(written).unwrap(),
            "<body><div>top</div><noscript>x</noscript></body>"
        );
    }

    #[test]
    fn a_minified_placeholder_gives_way_too() {
        let minified = r#"<body><div class=x></div><div id=boot class=boot data-prepaint><p>Session Manager</div><noscript>x</noscript>"#;
        let written = with_prepaint(minified.as_bytes(), "<div>top</div>");
        assert_eq!(
            String::from_utf8(written).unwrap(),
            "<body><div class=x></div><div>top</div><noscript>x</noscript>"
        );
    }

    #[test]
    fn a_document_without_the_offer_stays_as_it_is() {
        let earlier = DOCUMENT.replace(" data-prepaint", "");
        assert_eq!(
            with_prepaint(earlier.as_bytes(), "<div>top</div>"),
            earlier.as_bytes()
        );
        let other_id = DOCUMENT.replace(r#"id="boot""#, r#"id="booted""#);
        assert_eq!(
            with_prepaint(other_id.as_bytes(), "<div>top</div>"),
            other_id.as_bytes()
        );
        assert_eq!(
            with_prepaint(b"<body></body>", "<div>top</div>"),
            b"<body></body>"
        );
    }
}
