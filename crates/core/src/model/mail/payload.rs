//! What the outbox stores for a mail (its `payload` column, JSON), and reading it back.
//!
//! An alert is stored as its [`SecurityAlert`]; a link or a code under the key `token`,
//! which `storage::outbox::mark_sent` erases once the mail is sent.

use shared::SecurityAlert;

use super::{LinkPurpose, Mail, MailKind};

/// What the outbox stores for a link; the key `token` is what `mark_sent` erases.
#[derive(serde::Serialize, serde::Deserialize)]
struct LinkPayload {
    token: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CodePayload {
    device: SecurityAlert,
    token: String,
}

impl Mail {
    /// What the outbox stores (JSON).
    pub fn payload(&self) -> Result<String, serde_json::Error> {
        match self {
            Self::Alert(alert) => serde_json::to_string(alert),
            Self::Link { token, .. } | Self::Claim { token, .. } => {
                serde_json::to_string(&LinkPayload {
                    token: token.expose().to_owned(),
                })
            }
            Self::SignInCode { device, code } => serde_json::to_string(&CodePayload {
                device: device.clone(),
                token: code.expose().to_owned(),
            }),
        }
    }
}

/// A stored payload read back, by the kind of its mail.
#[derive(Debug)]
pub enum Stored {
    /// The one-time link the mail carries: the page it leads to, and its token.
    Link {
        purpose: LinkPurpose,
        token: String,
    },
    /// The sign-in code, and the device that asked for it.
    Code {
        device: SecurityAlert,
        code: String,
    },
    Alert(SecurityAlert),
}

/// Reads the `payload` of an outbox row of mail `kind`; an error says why it is unreadable.
pub fn read(kind: MailKind, payload: &str) -> Result<Stored, String> {
    let unreadable =
        |error: serde_json::Error| format!("unreadable {} payload: {error}", kind.as_str());
    let link = |purpose| {
        serde_json::from_str(payload)
            .map(|link: LinkPayload| Stored::Link {
                purpose,
                token: link.token,
            })
            .map_err(unreadable)
    };
    match kind {
        MailKind::VerifyEmail => link(LinkPurpose::VerifyEmail),
        // A claim offers a password reset.
        MailKind::PasswordReset | MailKind::ClaimAccount => link(LinkPurpose::ResetPassword),
        MailKind::ChangeEmail => link(LinkPurpose::ChangeEmail),
        MailKind::SignInCode => {
            let code: CodePayload = serde_json::from_str(payload).map_err(unreadable)?;
            Ok(Stored::Code {
                device: code.device,
                code: code.token,
            })
        }
        MailKind::NewSignIn
        | MailKind::SuspiciousLoginDenied
        | MailKind::LoginRefused
        | MailKind::PasswordChanged
        | MailKind::EmailChangeRequested
        | MailKind::EmailInUse
        | MailKind::AccountDeleted
        | MailKind::SignInMethodsChanged => serde_json::from_str(payload)
            .map(Stored::Alert)
            .map_err(unreadable),
    }
}
