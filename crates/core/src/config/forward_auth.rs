//! Forward authentication: how `GET /api/auth/verify` answers a reverse proxy, and where
//! the sign-in page may send a browser back to.
//!
//! | variable | default |
//! |---|---|
//! | `FORWARD_AUTH_HEADER_PREFIX` | `X-Auth-`: the identity headers are `<prefix>User-Id`, `<prefix>Email`, `<prefix>Name`, `<prefix>Session-Id` |
//! | `RETURN_TO_ORIGINS` | none: origins (`https://app.example.com`, comma-separated) the sign-in page may return to |

use super::env::{Env, SettingsError};

#[derive(Debug, Clone)]
pub struct ForwardAuthSettings {
    /// Prefix of the identity headers, ending as the operator wrote it (`X-Auth-`).
    pub header_prefix: String,
    /// Origins (`scheme://host[:port]`, as a browser serialises them) a `return_to` may
    /// lead to after signing in; any other is ignored (no open redirect).
    pub return_to_origins: Vec<String>,
}

impl ForwardAuthSettings {
    pub fn from_env(env: &Env<'_>) -> Result<Self, SettingsError> {
        Ok(Self {
            header_prefix: header_prefix(env)?,
            return_to_origins: return_to_origins(env)?,
        })
    }
}

fn header_prefix(env: &Env<'_>) -> Result<String, SettingsError> {
    const NAME: &str = "FORWARD_AUTH_HEADER_PREFIX";
    let prefix = env.text_or(NAME, "X-Auth-").trim().to_owned();
    // An HTTP token: what a header name may be made of.
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if !prefix.chars().all(token) {
        return Err(SettingsError::invalid(
            NAME,
            format!("{prefix:?} cannot start a header name"),
        ));
    }
    Ok(prefix)
}

fn return_to_origins(env: &Env<'_>) -> Result<Vec<String>, SettingsError> {
    const NAME: &str = "RETURN_TO_ORIGINS";
    env.text(NAME)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(|written| {
            let origin = url::Url::parse(written)
                .ok()
                .filter(|url| matches!(url.scheme(), "http" | "https"))
                .filter(|url| {
                    url.path() == "/" && url.query().is_none() && url.username().is_empty()
                })
                .map(|url| url.origin().ascii_serialization());
            origin.ok_or_else(|| {
                SettingsError::invalid(
                    NAME,
                    format!("{written:?} is not an http(s) origin such as https://app.example.com"),
                )
            })
        })
        .collect()
}
