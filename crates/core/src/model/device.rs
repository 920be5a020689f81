//! What a request tells about the device it came from: user agent (via woothee) and IP.

use std::net::IpAddr;

// Bidi overrides can make a device line read as something else (a spoofed tail).
use shared::rules::is_bidi_control;

/// Device description stored with a session or an approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    pub device: String,
    pub os: String,
    pub browser: String,
    pub user_agent: String,
    pub ip: String,
    /// ISO 3166 code of the address's country, when a GeoIP database knows it.
    pub country: Option<String>,
    /// The browser's id from its device cookie (or the one it is about to get): a browser
    /// that signs in again takes its own session's place (see `services::admission`).
    pub device_id: Option<String>,
}

/// Longest user agent kept; longer ones are cut (they are only for display).
const MAX_USER_AGENT: usize = 512;

/// "Chrome 120 on Linux (Desktop)", for logs and prompts.
pub fn label(browser: &str, os: &str, device: &str) -> String {
    format!("{browser} on {os} ({device})")
}

impl ClientInfo {
    pub fn label(&self) -> String {
        label(&self.browser, &self.os, &self.device)
    }

    /// A device as described by its user agent (made display-safe and cut to a display
    /// length) and address.
    pub fn describe(user_agent: &str, ip: String, country: Option<String>) -> Self {
        let user_agent = display_safe(user_agent, MAX_USER_AGENT);
        let (device, os, browser) = describe_user_agent(&user_agent);
        let (device, os, browser) = (
            display_safe(&device, 40),
            display_safe(&os, 60),
            display_safe(&browser, 60),
        );
        Self {
            device,
            os,
            browser,
            ip,
            user_agent,
            country,
            device_id: None,
        }
    }

    /// The same device, known by the id of its device cookie.
    pub fn with_device_id(mut self, device_id: String) -> Self {
        self.device_id = Some(device_id);
        self
    }
}

/// Turns a user agent into (device kind, OS, browser) for people to read.
pub fn describe_user_agent(user_agent: &str) -> (String, String, String) {
    let unknown = || "Unknown".to_owned();
    let Some(result) = woothee::parser::Parser::new().parse(user_agent) else {
        let tool = user_agent
            .split('/')
            .next()
            .filter(|name| !name.is_empty() && name.len() <= 40);
        return (
            "Other".to_owned(),
            unknown(),
            tool.map_or_else(unknown, str::to_owned),
        );
    };
    let device = match result.category {
        "pc" => "Desktop",
        "smartphone" => "Phone",
        "mobilephone" => "Mobile phone",
        "appliance" => "Appliance",
        "crawler" => "Crawler",
        _ => "Other",
    };
    let os_version: &str = &result.os_version;
    let os = match (result.os, os_version) {
        ("UNKNOWN", _) => unknown(),
        (os, "" | "UNKNOWN") => os.to_owned(),
        (os, version) => format!("{os} {version}"),
    };
    let major = result.version.split('.').next().unwrap_or_default();
    let browser = match result.name {
        "UNKNOWN" => unknown(),
        // woothee calls curl, wget, python-requests... all "HTTP Library": name the tool.
        "HTTP Library" => product_token(user_agent).unwrap_or_else(|| result.name.to_owned()),
        name if major.is_empty() || major == "UNKNOWN" => name.to_owned(),
        name => format!("{name} {major}"),
    };
    (device.to_owned(), os, browser)
}

/// "curl 8" from "curl/8.5.0": the first product of a user agent with its major version.
fn product_token(user_agent: &str) -> Option<String> {
    let first = user_agent.split_whitespace().next()?;
    let (name, version) = first.split_once('/').unwrap_or((first, ""));
    if name.is_empty() || name.len() > 40 {
        return None;
    }
    match version.split('.').next().filter(|major| !major.is_empty()) {
        Some(major) => Some(format!("{name} {major}")),
        None => Some(name.to_owned()),
    }
}

/// The client's address. `X-Forwarded-For` is spoofable, so it is read only from a trusted
/// proxy, right to left across every line of the header: the first entry that is not a
/// trusted proxy is the client. An entry that is not a plain address (`ip:port` forms,
/// garbage) stops the walk at the proxy that appended it — never at an entry further left,
/// which the client may have written itself.
pub fn client_ip(
    forwarded_for: &[&str],
    peer: Option<IpAddr>,
    trusted: impl Fn(IpAddr) -> bool,
) -> String {
    let Some(peer) = peer else {
        return "unknown".to_owned();
    };
    let mut nearest = peer.to_canonical();
    if !trusted(nearest) {
        return nearest.to_string();
    }
    let entries = forwarded_for
        .iter()
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect::<Vec<_>>();
    for entry in entries.iter().rev() {
        match entry.parse::<IpAddr>() {
            Ok(ip) if trusted(ip.to_canonical()) => nearest = ip.to_canonical(),
            Ok(ip) => return ip.to_canonical().to_string(),
            Err(_) => return nearest.to_string(),
        }
    }
    nearest.to_string()
}

/// Text from a client, made safe to store and show: control characters and bidi overrides
/// removed, at most `max` characters.
pub fn display_safe(text: &str, max: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback_and_ten(ip: IpAddr) -> bool {
        ip.is_loopback() || matches!(ip, IpAddr::V4(v4) if v4.octets()[0] == 10)
    }

    #[test]
    fn the_client_is_the_rightmost_address_that_is_not_a_trusted_proxy() {
        let peer = Some("127.0.0.1".parse().unwrap_or_else(|_| unreachable!()));
        assert_eq!(
            client_ip(&["6.6.6.6, 10.9.8.7, 203.0.113.9"], peer, loopback_and_ten),
            "203.0.113.9"
        );
        assert_eq!(
            client_ip(&["203.0.113.9, 10.9.8.7"], peer, loopback_and_ten),
            "203.0.113.9"
        );
        // Every line counts, in order.
        assert_eq!(
            client_ip(
                &["6.6.6.6", "203.0.113.9, 10.1.1.1"],
                peer,
                loopback_and_ten
            ),
            "203.0.113.9"
        );
        // An ip:port entry stops the walk at the proxy that wrote it, never further left.
        assert_eq!(
            client_ip(&["6.6.6.6, 10.9.8.7:5555"], peer, loopback_and_ten),
            "127.0.0.1"
        );
        assert_eq!(
            client_ip(&["6.6.6.6, garbage, 10.1.1.1"], peer, loopback_and_ten),
            "10.1.1.1"
        );
        // An untrusted peer's header is ignored.
        let stranger = Some("198.51.100.1".parse().unwrap_or_else(|_| unreachable!()));
        assert_eq!(
            client_ip(&["6.6.6.6"], stranger, loopback_and_ten),
            "198.51.100.1"
        );
        assert_eq!(client_ip(&[], peer, loopback_and_ten), "127.0.0.1");
    }

    #[test]
    fn control_characters_and_bidi_overrides_are_removed() {
        assert_eq!(
            display_safe("Chrome\u{202E}swodniW\n", 100),
            "ChromeswodniW"
        );
        assert_eq!(display_safe("abc", 2), "ab");
        let client = ClientInfo::describe("curl/8.5\u{2066}\r\nX: y", "127.0.0.1".into(), None);
        assert!(!client.user_agent.contains('\n') && !client.user_agent.contains('\u{2066}'));
    }

    #[test]
    fn browsers_and_tools_are_named() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
        let (device, os, browser) = describe_user_agent(chrome);
        assert_eq!(device, "Desktop");
        assert_eq!(os, "Linux");
        assert_eq!(browser, "Chrome 120");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(describe_user_agent(iphone).0, "Phone");
        assert_eq!(describe_user_agent("curl/8.5.0").2, "curl 8");
        assert_eq!(describe_user_agent("").0, "Other");
    }
}
