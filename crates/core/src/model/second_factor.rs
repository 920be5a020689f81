//! The second factor's rules without I/O: how a session proved its user, sudo mode's
//! window, authenticator (RFC 6238) codes and their replay guard, recovery codes, and the
//! QR code an app scans.

use chrono::{DateTime, Duration, Utc};
use rand::RngExt;
use totp_rs::{Builder, Totp};

crate::model::text_enum! {
    /// How a session last proved its user, as stored in `sessions.proof_method`.
    pub enum ProofMethod {
        Password => "password",
        Passkey => "passkey",
        Totp => "totp",
        EmailCode => "email_code",
        RecoveryCode => "recovery_code",
    }
}

/// A challenge (a right password waiting for its second factor) lives this long.
pub const CHALLENGE_LIFETIME: Duration = Duration::minutes(5);
/// Recovery codes made at a time.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// RFC 6238's step and the authenticator apps' default.
const STEP_SECS: i64 = 30;
/// Codes of one step before or after are accepted (clock drift, typing time).
const SKEW_STEPS: i64 = 1;
/// Recovery codes: 10 characters of this alphabet (no 0/o, 1/l/i), 50 bits.
const RECOVERY_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
const RECOVERY_LENGTH: usize = 10;

/// Sudo mode: whether a proof made at `proved_at` still allows a sensitive action at `now`.
pub fn proof_is_recent(proved_at: DateTime<Utc>, window: Duration, now: DateTime<Utc>) -> bool {
    now < proved_at + window
}

/// 160 random bits, the length RFC 4226 recommends.
pub fn new_totp_secret() -> Vec<u8> {
    let bytes: [u8; 20] = rand::rng().random();
    bytes.to_vec()
}

/// The authenticator for a stored secret; `label` is (issuer, account) for the otpauth URL.
fn authenticator(secret: &[u8], label: Option<(&str, &str)>) -> Option<Totp> {
    let builder = Builder::new()
        .with_secret(secret.to_vec())
        .with_skew(0)
        .with_step_duration(30);
    let builder = match label {
        // A colon separates issuer and account in the URL's label: neither may hold one.
        Some((issuer, account)) => builder
            .with_issuer(Some(issuer.replace(':', " ")))
            .with_account_name(account.replace(':', " ")),
        None => builder,
    };
    builder.build().ok()
}

/// What an app is set up with: the key in base32, the otpauth URL, and its QR code (SVG).
pub struct Enrolment {
    pub secret_base32: String,
    pub otpauth_url: String,
    pub qr_svg: String,
}

pub fn enrolment(secret: &[u8], issuer: &str, account: &str) -> Option<Enrolment> {
    let totp = authenticator(secret, Some((issuer, account)))?;
    let otpauth_url = totp.to_url().ok()?;
    Some(Enrolment {
        secret_base32: totp.secret().to_base32(),
        qr_svg: qr_svg(&otpauth_url)?,
        otpauth_url,
    })
}

/// The time step a right code belongs to, if `code` is one for `now` (one step either
/// side) and newer than `last_used_step`: a code is accepted once (RFC 6238 §5.2).
pub fn accepted_totp_step(
    secret: &[u8],
    code: &str,
    now: DateTime<Utc>,
    last_used_step: Option<i64>,
) -> Option<i64> {
    let totp = authenticator(secret, None)?;
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != 6 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let current = now.timestamp().div_euclid(STEP_SECS);
    (current - SKEW_STEPS..=current + SKEW_STEPS)
        .filter(|step| last_used_step.is_none_or(|last| *step > last))
        .find(|step| {
            u64::try_from(step * STEP_SECS).is_ok_and(|time| totp.check(&digits, time).is_some())
        })
}

/// Whether a typed code looks like an authenticator's (6 digits) rather than a recovery code.
pub fn looks_like_totp(code: &str) -> bool {
    let digits: Vec<char> = code.chars().filter(|c| !c.is_whitespace()).collect();
    digits.len() == 6 && digits.iter().all(char::is_ascii_digit)
}

/// A fresh set of recovery codes, as shown (`xxxxx-xxxxx`).
pub fn new_recovery_codes() -> Vec<String> {
    let mut rng = rand::rng();
    (0..RECOVERY_CODE_COUNT)
        .map(|_| {
            let code: String = (0..RECOVERY_LENGTH)
                .filter_map(|_| {
                    RECOVERY_ALPHABET
                        .get(rng.random_range(0..RECOVERY_ALPHABET.len()))
                        .map(|byte| char::from(*byte))
                })
                .collect();
            let (head, tail) = code.split_at(RECOVERY_LENGTH / 2);
            format!("{head}-{tail}")
        })
        .collect()
}

/// A recovery code as typed, in the form that is hashed: lower case, without spaces or
/// dashes. `None` when it cannot be one.
pub fn normalise_recovery_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (code.len() == RECOVERY_LENGTH && code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)))
        .then_some(code)
}

/// The QR code of `text` as a small SVG document (one path, 4 modules of quiet zone).
fn qr_svg(text: &str) -> Option<String> {
    use qrcodegen::{QrCode, QrCodeEcc};
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let border = 4;
    let size = qr.size();
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    let full = size + 2 * border;
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {full} {full}\" shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code for the authenticator app\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_at(secret: &[u8], time: DateTime<Utc>) -> String {
        let totp = authenticator(secret, None).unwrap();
        totp.generate(u64::try_from(time.timestamp()).unwrap())
            .to_string()
    }

    #[test]
    fn a_code_is_accepted_once_within_its_window() {
        let secret = new_totp_secret();
        let now = Utc::now();
        let code = code_at(&secret, now);
        let step = accepted_totp_step(&secret, &code, now, None).unwrap();
        assert_eq!(accepted_totp_step(&secret, &code, now, Some(step)), None);
        // The previous step's code still counts (drift), unless a newer one was used.
        let previous = code_at(&secret, now - Duration::seconds(30));
        assert!(accepted_totp_step(&secret, &previous, now, None).is_some());
        assert_eq!(
            accepted_totp_step(&secret, &previous, now, Some(step)),
            None
        );
        let old = code_at(&secret, now - Duration::minutes(5));
        assert_eq!(accepted_totp_step(&secret, &old, now, None), None);
        assert_eq!(accepted_totp_step(&secret, "12345", now, None), None);
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_read_back_as_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODE_COUNT);
        let code = &codes[0];
        let typed = format!(" {} ", code.to_uppercase().replace('-', " "));
        assert_eq!(normalise_recovery_code(&typed), Some(code.replace('-', "")));
        assert_eq!(normalise_recovery_code("123456"), None);
        assert!(looks_like_totp("123 456"));
        assert!(!looks_like_totp(code));
    }

    #[test]
    fn the_enrolment_names_the_issuer_and_draws_a_qr_code() {
        let enrolment =
            enrolment(&new_totp_secret(), "Session: Manager", "ada@example.com").unwrap();
        assert!(enrolment.otpauth_url.starts_with("otpauth://totp/"));
        assert!(enrolment.qr_svg.starts_with("<svg"));
        assert_eq!(enrolment.secret_base32.len(), 32);
    }

    #[test]
    fn a_proof_is_recent_within_the_window_only() {
        let now = Utc::now();
        let window = Duration::minutes(10);
        assert!(proof_is_recent(now - Duration::minutes(9), window, now));
        assert!(!proof_is_recent(now - Duration::minutes(10), window, now));
    }
}
