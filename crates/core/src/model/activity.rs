//! Kinds of entries in an account's activity log.

use super::text_enum;

text_enum! {
    /// As stored in `activity.kind` and sent in `ActivityEntry::kind`.
    pub enum ActivityKind {
        Signup => "signup",
        Login => "login",
        LoginFailed => "login_failed",
        Logout => "logout",
        SessionRevoked => "session_revoked",
        SessionExpired => "session_expired",
        /// A newer login took its place (`evict_oldest`, `single`).
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
        /// A login from a browser and OS, or a network, never seen on the account.
        NewDeviceLogin => "new_device_login",
        /// A login from a country never seen on the account.
        NewCountryLogin => "new_country_login",
        /// A request denied as "this wasn't me".
        SuspiciousLoginDenied => "suspicious_login_denied",
        /// A correct password refused (session limit, too many requests): someone knows it.
        LoginRefused => "login_refused",
        /// The address was confirmed through the mailed link.
        EmailVerified => "email_verified",
        /// A new password was set through a mailed reset link.
        PasswordReset => "password_reset",
        /// An unrecognised device gave the right password while no device could approve
        /// it: a code went to the account's address.
        EmailCodeSent => "email_code_sent",
        /// A wrong mailed code was typed.
        EmailCodeRejected => "email_code_rejected",
        /// The "this wasn't me" link of a security mail ended every session and request.
        AccountSecured => "account_secured",
        /// A change of address was asked for (the link went to the new address).
        EmailChangeRequested => "email_change_requested",
        /// The new address was confirmed and is now the account's.
        EmailChanged => "email_changed",
        /// An administrator forgot the account's failed sign-ins (`api admin unlock`, the
        /// admin API).
        AccountUnlocked => "account_unlocked",
        /// The authenticator app was turned on (its first code confirmed).
        SecondFactorEnabled => "second_factor_enabled",
        SecondFactorDisabled => "second_factor_disabled",
        /// A new set of recovery codes was made (the old ones died).
        RecoveryCodesGenerated => "recovery_codes_generated",
        /// A recovery code was used to sign in.
        RecoveryCodeUsed => "recovery_code_used",
        /// A wrong authenticator or recovery code after a right password.
        SecondFactorRejected => "second_factor_rejected",
        /// A session proved its user again (sudo mode).
        Reauthenticated => "reauthenticated",
        /// A passkey was added to the account (its name in the detail).
        PasskeyAdded => "passkey_added",
        /// A passkey was removed: it signs in no more (its name in the detail).
        PasskeyRemoved => "passkey_removed",
    }
}
