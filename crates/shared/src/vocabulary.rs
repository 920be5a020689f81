//! The closed sets of names the API sends: error codes, why a session ended, kinds of
//! activity and of alerts, where a sign-in request stands, the limit policy, how mail is
//! delivered.
//!
//! Each is an enum whose JSON form is its name as a string (`"session_expired"`), exactly
//! as the server stored and sent it when these were plain strings. A name this build does
//! not know, sent by a newer server, reads as `Unknown` instead of failing the whole
//! response: an open tab outlives a deploy. `Unknown` is never sent.
//!
//! They are deliberately not `#[non_exhaustive]`: every crate that reads them is in this
//! workspace, and a `match` without a catch-all arm is what makes the compiler point at
//! every label to write when a name is added (`Unknown` is the arm for names from the
//! future, and must be matched like any other).

/// Declares a vocabulary: its variants with their names on the wire, plus `Unknown`.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident => $text:tt,)+
        }
    ) => {
        $(#[$meta])*
        ///
        /// `unknown` is never sent: it is what a client older than the server reads for a
        /// name it does not know.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$variant_meta])* #[serde(rename = $text)] $variant,)+
            /// A name this build does not know (a newer server sent it); never sent.
            Unknown,
        }

        /// A string, looked up in `KNOWN` (`From<&str>`). Serde's derived reader for an enum
        /// matched every name twice (as text and as bytes) through its enum access: the
        /// larger code, in every wasm module that reads a vocabulary.
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Name;
                impl serde::de::Visitor<'_> for Name {
                    type Value = $name;
                    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        formatter.write_str(concat!("a name of ", stringify!($name)))
                    }
                    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<$name, E> {
                        Ok($name::from(text))
                    }
                }
                deserializer.deserialize_str(Name)
            }
        }

        impl $name {
            /// Every name this build knows (all but `Unknown`).
            pub const KNOWN: &'static [Self] = &[$(Self::$variant,)+];

            /// The name on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Unknown => "unknown",
                }
            }
        }

        /// Reads a name as it comes over the wire: one this build does not know is `Unknown`.
        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self::KNOWN
                    .iter()
                    .copied()
                    .find(|known| known.as_str() == text)
                    .unwrap_or(Self::Unknown)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Compares with a name as sent on the wire.
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

vocabulary! {
    /// The stable machine code of an error (`ErrorBody::code`, the socket's `error`).
    pub enum ErrorCode {
        BadRequest => "bad_request",
        Validation => "validation",
        PayloadTooLarge => "payload_too_large",
        UnsupportedMediaType => "unsupported_media_type",
        Unauthenticated => "unauthenticated",
        InvalidCredentials => "invalid_credentials",
        SessionExpired => "session_expired",
        InvalidSession => "invalid_session",
        /// A newer sign-in took this session's place (policies `evict_oldest`, `single`).
        SessionReplaced => "session_replaced",
        /// This session is too new to act against an older one.
        SessionTooNew => "session_too_new",
        WrongPassword => "wrong_password",
        ForbiddenOrigin => "forbidden_origin",
        /// The admin API: no `Authorization: Bearer` key, or an unknown or revoked one.
        InvalidApiKey => "invalid_api_key",
        /// The admin API: a `read` key asked for a change.
        InsufficientScope => "insufficient_scope",
        NotFound => "not_found",
        MethodNotAllowed => "method_not_allowed",
        EmailTaken => "email_taken",
        SessionLimit => "session_limit",
        TooManyPendingApprovals => "too_many_pending_approvals",
        TooManyApprovalRequests => "too_many_approval_requests",
        TooManyAttempts => "too_many_attempts",
        TooManySignups => "too_many_signups",
        TooManySockets => "too_many_sockets",
        WeakPassword => "weak_password",
        /// The sign-in request is not approved yet.
        ApprovalPending => "approval_pending",
        ApprovalAlreadyApproved => "approval_already_approved",
        ApprovalUsed => "approval_used",
        ApprovalDenied => "approval_denied",
        ApprovalLocked => "approval_locked",
        ApprovalSessionLimit => "approval_session_limit",
        ApprovalCancelled => "approval_cancelled",
        ApprovalExpired => "approval_expired",
        WrongCode => "wrong_code",
        InvalidLink => "invalid_link",
        AlreadyVerified => "already_verified",
        TooManyMailRequests => "too_many_mail_requests",
        TooManySignInCodes => "too_many_sign_in_codes",
        TooManyExports => "too_many_exports",
        /// The account has as many passkeys as it may (`MAX_PASSKEYS`).
        PasskeyLimit => "passkey_limit",
        /// A passkey ceremony's `challenge_id` is unknown, used, expired or another's.
        InvalidChallenge => "invalid_challenge",
        /// The authenticator's answer did not verify (origin, signature, challenge, an
        /// unknown or removed credential, a passkey already registered).
        PasskeyRejected => "passkey_rejected",
        ServiceUnavailable => "service_unavailable",
        Internal => "internal",
        /// A socket message that could not be read.
        BadMessage => "bad_message",
        /// Sudo mode: this action needs a proof of the user newer than `REAUTH_WINDOW_SECS`
        /// (`POST /api/auth/reauthenticate`, then retry).
        ReauthenticationRequired => "reauthentication_required",
        /// A wrong authenticator or recovery code.
        InvalidCode => "invalid_code",
        /// The second-factor challenge is unknown, used or past its 5 minutes: sign in again.
        ChallengeExpired => "challenge_expired",
        /// The authenticator app is already on.
        SecondFactorEnabled => "second_factor_enabled",
        /// The authenticator app is not on (or not set up, for a confirmation).
        SecondFactorNotEnabled => "second_factor_not_enabled",
    }
}

vocabulary! {
    /// Why a session ended (the session log, and the socket of the session that ended).
    pub enum EndReason {
        Logout => "logout",
        Revoked => "revoked",
        IdleTimeout => "idle_timeout",
        LifetimeExceeded => "lifetime_exceeded",
        PasswordChanged => "password_changed",
        /// A newer sign-in took its place (limit policies `evict_oldest` and `single`).
        Replaced => "replaced",
        /// Approved, but the device never completed the sign-in.
        NotCompleted => "not_completed",
        /// Ended through the "this wasn't me" link of a security mail.
        AccountSecured => "account_secured",
        /// The same browser signed in again.
        ReplacedBySameBrowser => "replaced_by_same_browser",
        /// A server started with a one-off cookie key.
        KeyChanged => "key_changed",
        /// The account's address changed.
        EmailChanged => "email_changed",
        AccountDeleted => "account_deleted",
    }
}

vocabulary! {
    /// Kinds of entries in the account's activity log.
    pub enum ActivityKind {
        Signup => "signup",
        Login => "login",
        LoginFailed => "login_failed",
        Logout => "logout",
        SessionRevoked => "session_revoked",
        SessionExpired => "session_expired",
        SessionReplaced => "session_replaced",
        ApprovalRequested => "approval_requested",
        ApprovalGranted => "approval_granted",
        ApprovalDenied => "approval_denied",
        ApprovalCancelled => "approval_cancelled",
        ApprovalCodeRejected => "approval_code_rejected",
        ApprovalLocked => "approval_locked",
        ApprovalExpired => "approval_expired",
        PasswordChanged => "password_changed",
        ProfileUpdated => "profile_updated",
        NewDeviceLogin => "new_device_login",
        NewCountryLogin => "new_country_login",
        SuspiciousLoginDenied => "suspicious_login_denied",
        LoginRefused => "login_refused",
        EmailVerified => "email_verified",
        PasswordReset => "password_reset",
        EmailCodeSent => "email_code_sent",
        EmailCodeRejected => "email_code_rejected",
        AccountSecured => "account_secured",
        EmailChangeRequested => "email_change_requested",
        EmailChanged => "email_changed",
        /// An administrator forgot the account's failed sign-ins.
        AccountUnlocked => "account_unlocked",
        SecondFactorEnabled => "second_factor_enabled",
        SecondFactorDisabled => "second_factor_disabled",
        RecoveryCodesGenerated => "recovery_codes_generated",
        RecoveryCodeUsed => "recovery_code_used",
        SecondFactorRejected => "second_factor_rejected",
        Reauthenticated => "reauthenticated",
        PasskeyAdded => "passkey_added",
        PasskeyRemoved => "passkey_removed",
    }
}

vocabulary! {
    /// How a session last proved its user (at sign-in, or re-authenticating), and the
    /// methods a second-factor challenge accepts.
    pub enum ProofMethod {
        Password => "password",
        Passkey => "passkey",
        Totp => "totp",
        EmailCode => "email_code",
        RecoveryCode => "recovery_code",
    }
}

vocabulary! {
    /// Where a sign-in request from a new device stands; how it ended, for the devices
    /// (`approved`, `denied`, `expired`, `locked`, `session_limit` or `cancelled`).
    pub enum ApprovalStatus {
        Pending => "pending",
        Approved => "approved",
        Completed => "completed",
        Denied => "denied",
        Expired => "expired",
        /// Too many wrong codes were typed.
        Locked => "locked",
        /// The right code came, but meanwhile the account reached its session limit.
        SessionLimit => "session_limit",
        /// The new device gave up waiting, or a sign-out everywhere ended it.
        Cancelled => "cancelled",
    }
}

vocabulary! {
    /// What a security alert (and its mail) is about.
    pub enum AlertKind {
        /// A sign-in from a device or network never seen on the account.
        NewDevice => "new_device",
        /// A sign-in from a country never seen on the account.
        NewCountry => "new_country",
        /// A sign-in request was denied as "this wasn't me".
        SuspiciousLoginDenied => "suspicious_login_denied",
        /// A correct password was refused (session limit, too many requests).
        LoginRefused => "login_refused",
        /// Mail only: the password was changed.
        PasswordChanged => "password_changed",
        /// Mail only: the code an unrecognised device must type.
        SignInCode => "sign_in_code",
        /// Mail only: a change of address was asked for.
        EmailChangeRequested => "email_change_requested",
        /// Mail only: another account asked to move to this address.
        EmailInUse => "email_in_use",
        /// Mail only: the account was deleted.
        AccountDeleted => "account_deleted",
        /// Mail only: the authenticator app was turned on.
        SecondFactorEnabled => "second_factor_enabled",
        /// Mail only: the authenticator app was turned off.
        SecondFactorDisabled => "second_factor_disabled",
        /// Mail only: a passkey was added.
        PasskeyAdded => "passkey_added",
        /// Mail only: a passkey was removed.
        PasskeyRemoved => "passkey_removed",
    }
}

vocabulary! {
    /// What happens when an account signs in on one device more than the limit allows.
    pub enum LimitPolicy {
        /// A device already signed in approves the new one with its code.
        Approve => "approve",
        /// At the limit the new device is refused.
        Refuse => "refuse",
        /// At the limit the least recently used session ends.
        EvictOldest => "evict_oldest",
        /// One session: a new sign-in ends the previous one.
        Single => "single",
    }
}

vocabulary! {
    /// Which step a `202 Accepted` from login asks for: `LoginAccepted`'s `status`.
    pub enum LoginStep {
        /// `LoginAccepted::Approval`.
        Approval => "approval_required",
        /// `LoginAccepted::EmailConfirmation`.
        EmailConfirmation => "email_confirmation_required",
        /// `LoginAccepted::SecondFactor`.
        SecondFactor => "second_factor_required",
    }
}

vocabulary! {
    /// How the server delivers mail.
    pub enum MailDelivery {
        /// Through an SMTP server.
        Smtp => "smtp",
        /// Written to the server's log only (development): nothing is mailed.
        Log => "log",
    }
}

vocabulary! {
    /// How a part of the server is, as `GET /api/health` reports it (a part that is not
    /// well makes the whole answer a 503 with the error envelope instead).
    pub enum HealthStatus {
        /// It answers.
        Ok => "ok",
    }
}

vocabulary! {
    /// What a webhook tells (`type` in its payload; an endpoint subscribes to some of them).
    pub enum WebhookEventType {
        /// A session started (a sign-in, an approved device, a new account).
        SessionCreated => "session.created",
        /// A session ended; `reason` says why.
        SessionEnded => "session.ended",
        /// A sign-in from a new device waits for approval.
        ApprovalRequested => "approval.requested",
        /// A sign-in request is over; `outcome` says how.
        ApprovalDecided => "approval.decided",
        /// A correct password was refused (session limit, too many requests).
        LoginRefused => "login.refused",
        /// A sign-in from a new device, network or country, or a request denied as "this
        /// wasn't me"; `alert` says which.
        AlertRaised => "alert.raised",
        /// The password was changed (in the app or through a reset link).
        PasswordChanged => "password.changed",
        /// The "this wasn't me" link of a security mail ended every session.
        AccountSecured => "account.secured",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json<T: serde::Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap_or_default()
    }

    fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
        serde_json::from_str(text).ok()
    }

    /// Every known name is written as before (a JSON string) and reads back as itself.
    fn round_trips<T>(known: &[T])
    where
        T: serde::Serialize + serde::de::DeserializeOwned + std::fmt::Display + PartialEq,
        T: std::fmt::Debug + Copy,
    {
        for value in known {
            let text = json(value);
            assert_eq!(text, format!("\"{value}\""));
            assert_eq!(parse::<T>(&text), Some(*value), "{text}");
        }
    }

    #[test]
    fn known_names_round_trip_to_the_same_strings_as_before() {
        round_trips(ErrorCode::KNOWN);
        round_trips(EndReason::KNOWN);
        round_trips(ActivityKind::KNOWN);
        round_trips(ApprovalStatus::KNOWN);
        round_trips(AlertKind::KNOWN);
        round_trips(LimitPolicy::KNOWN);
        round_trips(MailDelivery::KNOWN);
        round_trips(HealthStatus::KNOWN);
        assert_eq!(json(&ErrorCode::SessionExpired), r#""session_expired""#);
        assert_eq!(
            json(&ErrorCode::TooManySignInCodes),
            r#""too_many_sign_in_codes""#
        );
        assert_eq!(
            json(&EndReason::ReplacedBySameBrowser),
            r#""replaced_by_same_browser""#
        );
        assert_eq!(
            json(&ActivityKind::ApprovalCodeRejected),
            r#""approval_code_rejected""#
        );
        assert_eq!(json(&ApprovalStatus::SessionLimit), r#""session_limit""#);
        assert_eq!(json(&AlertKind::NewDevice), r#""new_device""#);
        assert_eq!(json(&LimitPolicy::EvictOldest), r#""evict_oldest""#);
        assert_eq!(json(&MailDelivery::Log), r#""log""#);
    }

    #[test]
    fn a_name_from_a_newer_server_reads_as_unknown() {
        assert_eq!(
            parse::<ErrorCode>(r#""quantum_flux""#),
            Some(ErrorCode::Unknown)
        );
        assert_eq!(
            parse::<EndReason>(r#""moon_landing""#),
            Some(EndReason::Unknown)
        );
        assert_eq!(
            parse::<ActivityKind>(r#""hologram_added""#),
            Some(ActivityKind::Unknown)
        );
        assert_eq!(
            parse::<ApprovalStatus>(r#""withdrawn""#),
            Some(ApprovalStatus::Unknown)
        );
        assert_eq!(
            parse::<AlertKind>(r#""new_planet""#),
            Some(AlertKind::Unknown)
        );
        assert_eq!(
            parse::<LimitPolicy>(r#""lottery""#),
            Some(LimitPolicy::Unknown)
        );
        assert_eq!(
            parse::<MailDelivery>(r#""pigeon""#),
            Some(MailDelivery::Unknown)
        );
        // Only a string is a name: anything else is still a malformed response.
        assert_eq!(parse::<ErrorCode>("42"), None);
        assert_eq!(parse::<ErrorCode>("null"), None);
        assert_eq!(parse::<ErrorCode>(r#"{"session_expired":null}"#), None);
    }

    #[test]
    fn a_name_reads_however_the_json_spells_it_and_wherever_it_is_buffered() {
        // Escaped (the reader gets an owned string, not the input's slice).
        assert_eq!(
            parse::<ErrorCode>(r#""session\u005fexpired""#),
            Some(ErrorCode::SessionExpired)
        );
        // From a parsed `Value`, and inside an internally tagged enum (serde buffers it).
        assert_eq!(
            serde_json::from_value::<EndReason>(serde_json::json!("revoked")).ok(),
            Some(EndReason::Revoked)
        );
        #[derive(serde::Deserialize, Debug, PartialEq)]
        #[serde(tag = "type")]
        enum Tagged {
            Ended { reason: EndReason },
        }
        assert_eq!(
            parse::<Tagged>(r#"{"type":"Ended","reason":"idle_timeout"}"#),
            Some(Tagged::Ended {
                reason: EndReason::IdleTimeout
            })
        );
    }

    #[test]
    fn names_compare_with_the_strings_they_replace() {
        assert_eq!(ErrorCode::ServiceUnavailable, "service_unavailable");
        assert!(AlertKind::LoginRefused == *"login_refused");
        assert_ne!(EndReason::Logout, "revoked");
        assert_eq!(ApprovalStatus::Unknown.to_string(), "unknown");
        assert!(!ErrorCode::KNOWN.contains(&ErrorCode::Unknown));
        assert_eq!(EndReason::from("revoked"), EndReason::Revoked);
        assert_eq!(EndReason::from("moon_landing"), EndReason::Unknown);
    }

    /// A client reads what a code means in README.md: the HTTP errors' table, or the socket's
    /// messages for a code only a socket sends.
    #[test]
    fn the_readme_explains_every_error_code() {
        let readme = include_str!("../../../README.md");
        let section = |title: &str| {
            readme
                .split(&format!("\n### {title}\n"))
                .nth(1)
                .and_then(|rest| rest.split("\n#").next())
                .unwrap_or_default()
        };
        let explained = [section("Errors"), section("WebSocket messages")].concat();
        let missing: Vec<&str> = ErrorCode::KNOWN
            .iter()
            .map(|code| code.as_str())
            .filter(|code| !explained.contains(&format!("`{code}`")))
            .collect();
        assert!(
            missing.is_empty(),
            "README.md's Errors table does not list {missing:?}"
        );
    }
}
