//! What the dashboard's banners say about an account's address and its protection. The app
//! draws them (`VerifyBanner`), and the server writes them into a returning browser's
//! document, which the browser paints before the app has loaded (`http::prepaint`): one text
//! for both, so that the app's banner takes the painted one's place word for word.

/// Said instead of "we mailed a link" when the server only writes mail to its log.
pub const MAIL_IS_LOGGED: &str =
    "Mail is not set up on this server; the link is in the server log.";

/// Before the address, in "Please confirm your address, ada@example.com: we mailed…".
pub const CONFIRM_ADDRESS: &str = "Please confirm your address, ";

/// What follows the address: where the link went.
pub fn after_address(mail_is_logged: bool) -> String {
    if mail_is_logged {
        format!(". {MAIL_IS_LOGGED}")
    } else {
        ": we mailed a link to it.".to_owned()
    }
}

/// Why confirming is worth it.
pub const CONFIRMED_ADDRESS_RECOVERS: &str = " A confirmed address can recover your account.";

/// Added for an unconfirmed account that nothing but its password protects.
pub const UNTIL_CONFIRMED_PASSWORD_ONLY: &str = " Until then your password alone protects it: \
     while none of your devices is signed in, anyone who has the password can sign in, and \
     approve their own devices after. Confirmed, the address gets a code for each new device \
     instead.";

/// The notice for a confirmed account still protected by its password alone (the server
/// mails no codes to new devices).
pub const PASSWORD_ONLY: &str = "Your password alone protects this account: this service \
     mails no sign-in codes, so while none of your devices is signed in, anyone who has your \
     password can sign in. Use a password you use nowhere else, and stay signed in on a device \
     you trust: new devices then need its approval.";

/// The button that mails the confirmation link again.
pub const SEND_AGAIN: &str = "Send it again";
