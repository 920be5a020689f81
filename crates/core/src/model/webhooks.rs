//! Webhooks as the Standard Webhooks specification has them: the endpoint's secret
//! (`whsec_<base64>`), the signature of a delivery, the retry schedule, and which addresses
//! a delivery may go to.

use std::net::IpAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngExt;
use sha2::Sha256;
use shared::WebhookEventType;

use super::policy::WEBHOOK_RETRY_MAX;

const SECRET_PREFIX: &str = "whsec_";

/// A new endpoint secret: 192 random bits, as `whsec_<base64>`.
pub fn new_secret() -> String {
    let bytes: [u8; 24] = rand::rng().random();
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The key a secret stands for: the bytes its base64 decodes to.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    STANDARD.decode(encoded).ok()
}

/// `webhook-signature`: `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The wait after the `attempts`-th failed try: `base`, doubling, up to
/// `policy::WEBHOOK_RETRY_MAX`.
pub fn retry_delay(base: Duration, attempts: u32) -> Duration {
    let factor = 2_u32.saturating_pow(attempts.saturating_sub(1).min(16));
    base.saturating_mul(factor).min(WEBHOOK_RETRY_MAX)
}

/// Reads `session.created,session.ended`: every name must be known, and one at least given.
pub fn parse_events(list: &str) -> Result<Vec<WebhookEventType>, String> {
    let mut events = Vec::new();
    for name in list
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        match WebhookEventType::from(name) {
            WebhookEventType::Unknown => return Err(unknown_event(name)),
            event => events.push(event),
        }
    }
    check_events(events)
}

/// The events an endpoint subscribes to, each once: one at least, none unknown.
pub fn check_events(events: Vec<WebhookEventType>) -> Result<Vec<WebhookEventType>, String> {
    let mut checked = Vec::with_capacity(events.len());
    for event in events {
        if event == WebhookEventType::Unknown {
            return Err(unknown_event("unknown"));
        }
        if !checked.contains(&event) {
            checked.push(event);
        }
    }
    if checked.is_empty() {
        return Err("at least one event is needed".into());
    }
    Ok(checked)
}

fn unknown_event(name: &str) -> String {
    let known: Vec<&str> = WebhookEventType::KNOWN
        .iter()
        .map(|event| event.as_str())
        .collect();
    format!("unknown event {name:?} (known: {})", known.join(", "))
}

/// An endpoint's URL: `http` or `https`, with a host, no credentials in it.
pub fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("the URL must start with https:// or http://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err("the URL has no host".into());
    }
    if authority.contains('@') {
        return Err("the URL must not hold credentials".into());
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the URL must not hold spaces".into());
    }
    Ok(())
}

/// Whether a delivery may go to `ip`: not loopback, private, link-local, shared (CGNAT),
/// unspecified, multicast or otherwise reserved — what an attacker who adds an endpoint
/// would aim at inside the network (SSRF).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                // 0.0.0.0/8, 100.64.0.0/10 (shared), 198.18.0.0/15 (benchmarking), 240.0.0.0/4.
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments().first().copied().unwrap_or_default();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // fc00::/7 (unique local), fe80::/10 (link-local), 2001:db8::/32 (documentation).
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first == 0x2001 && v6.segments().get(1) == Some(&0x0db8))
                // ::/96 (IPv4-compatible) and 64:ff9b::/96 (NAT64) reach IPv4 addresses.
                || v6.segments().iter().take(6).all(|segment| *segment == 0)
                || (first == 0x64 && v6.segments().get(1) == Some(&0xff9b)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_matches_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification.
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_or_default();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_new_secret_decodes_to_its_key() {
        let secret = new_secret();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(secret_key(&secret).map(|key| key.len()), Some(24));
    }

    #[test]
    fn only_public_addresses_are_allowed() {
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = refused.parse().unwrap_or(IpAddr::from([127, 0, 0, 1]));
            assert!(!is_public(ip), "{refused} must be refused");
        }
        for allowed in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"] {
            let ip: IpAddr = allowed.parse().unwrap_or(IpAddr::from([127, 0, 0, 1]));
            assert!(is_public(ip), "{allowed} must be allowed");
        }
    }

    #[test]
    fn events_are_checked_and_urls_need_a_scheme_and_host() {
        assert_eq!(
            parse_events("session.created, session.ended,session.created"),
            Ok(vec![
                WebhookEventType::SessionCreated,
                WebhookEventType::SessionEnded
            ])
        );
        assert!(parse_events("session.exploded").is_err());
        assert!(parse_events(" , ").is_err());
        assert!(check_url("https://hooks.example/in").is_ok());
        assert!(check_url("ftp://hooks.example").is_err());
        assert!(check_url("https://user:pw@hooks.example").is_err());
        assert!(check_url("https:///path").is_err());
    }

    #[test]
    fn retries_double_up_to_the_cap() {
        let base = Duration::from_secs(30);
        assert_eq!(retry_delay(base, 1), base);
        assert_eq!(retry_delay(base, 2), Duration::from_secs(60));
        assert_eq!(retry_delay(base, 30), WEBHOOK_RETRY_MAX);
    }
}
