//! What makes a sign-in worth telling the user about: a device, network or country the
//! account has never signed in from.

use std::net::IpAddr;

use super::device::ClientInfo;

/// What an account's sign-in history records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    Device,
    Network,
    Country,
}

impl Seen {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Device => "device",
            Self::Network => "network",
            Self::Country => "country",
        }
    }
}

/// The device as far as it identifies a machine: browser and OS without their versions
/// (an update is the same device), and the kind.
pub fn device_key(client: &ClientInfo) -> String {
    format!(
        "{}|{}|{}",
        without_versions(&client.browser),
        without_versions(&client.os),
        client.device
    )
}

fn without_versions(name: &str) -> String {
    name.split_whitespace()
        .filter(|word| !word.starts_with(|c: char| c.is_ascii_digit()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The network: IPv4 /24, IPv6 /48 (a household or an office, not one address).
pub fn network_key(ip: &str) -> Option<String> {
    match ip.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => {
            let network = u32::from(v4) & 0xffff_ff00;
            Some(format!("{}/24", std::net::Ipv4Addr::from(network)))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => network_key(&v4.to_string()),
            None => {
                let network = u128::from(v6) & (u128::MAX << 80);
                Some(format!("{}/48", std::net::Ipv6Addr::from(network)))
            }
        },
    }
}

/// What is new about a sign-in, against the account's history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Novelty {
    pub device: bool,
    pub network: bool,
    pub country: bool,
}

impl Novelty {
    pub fn device_or_network(&self) -> bool {
        self.device || self.network
    }

    /// "new device and network", for the log.
    pub fn describe(&self) -> String {
        let parts: Vec<&str> = [
            (self.device, "device"),
            (self.network, "network"),
            (self.country, "country"),
        ]
        .into_iter()
        .filter_map(|(new, name)| new.then_some(name))
        .collect();
        format!("new {}", parts.join(" and "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_update_is_the_same_device() {
        let client = |browser: &str| ClientInfo {
            device: "Desktop".into(),
            os: "Windows 10".into(),
            browser: browser.into(),
            user_agent: String::new(),
            ip: "203.0.113.9".into(),
            country: None,
            device_id: None,
        };
        assert_eq!(
            device_key(&client("Chrome 120")),
            device_key(&client("Chrome 121"))
        );
        assert_ne!(
            device_key(&client("Chrome 120")),
            device_key(&client("Firefox 121"))
        );
        assert_eq!(device_key(&client("Chrome 120")), "Chrome|Windows|Desktop");
    }

    #[test]
    fn networks_are_a_slash_24_or_a_slash_48() {
        assert_eq!(
            network_key("203.0.113.9").as_deref(),
            Some("203.0.113.0/24")
        );
        assert_eq!(network_key("203.0.113.200"), network_key("203.0.113.9"));
        assert_eq!(
            network_key("2001:db8:1:2::1").as_deref(),
            Some("2001:db8:1::/48")
        );
        assert_eq!(network_key("unknown"), None);
        let novelty = Novelty {
            device: true,
            network: true,
            country: false,
        };
        assert_eq!(novelty.describe(), "new device and network");
    }
}
