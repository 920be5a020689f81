//! What a request tells about the device it came from: user agent (via woothee) and IP.

use std::net::IpAddr;

use actix_web::HttpRequest;
use actix_web::http::header;

/// Device description stored with a session or an approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    pub device: String,
    pub os: String,
    pub browser: String,
    pub user_agent: String,
    pub ip: String,
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

    pub fn from_request(request: &HttpRequest, trust_proxy: bool) -> Self {
        let user_agent = request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        let user_agent: String = user_agent.chars().take(MAX_USER_AGENT).collect();
        let (device, os, browser) = describe_user_agent(&user_agent);
        Self {
            device,
            os,
            browser,
            ip: client_ip(request, trust_proxy),
            user_agent,
        }
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

/// The client's IP. `X-Forwarded-For` is spoofable, so it is read only behind a trusted
/// proxy, and then its last entry (the one that proxy appended) is used.
pub fn client_ip(request: &HttpRequest, trust_proxy: bool) -> String {
    if trust_proxy
        && let Some(forwarded) = request
            .headers()
            .get("x-forwarded-for")
            .and_then(|value| value.to_str().ok())
        && let Some(ip) = forwarded
            .rsplit(',')
            .map(str::trim)
            .find_map(|part| part.parse::<IpAddr>().ok())
    {
        return ip.to_string();
    }
    request
        .peer_addr()
        .map(|addr| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::describe_user_agent;

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
