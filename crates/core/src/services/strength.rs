//! Refusing passwords that are easy to guess (zxcvbn), for signup, change and reset.

use shared::Secret;

use crate::error::Error;
use crate::model::input::{NewPassword, Strength, password_strength};

/// Scores a password (zxcvbn, on a blocking thread: adversarial input costs milliseconds).
pub async fn strength(password: Secret, context: Vec<String>) -> Result<Strength, Error> {
    Ok(tokio::task::spawn_blocking(move || {
        let context: Vec<&str> = context.iter().map(String::as_str).collect();
        password_strength(password.expose(), &context)
    })
    .await?)
}

/// Refuses a password that is easy to guess, saying why.
pub async fn ensure_strong(
    password: NewPassword,
    context: Vec<String>,
) -> Result<NewPassword, Error> {
    let secret = password.into_secret();
    let scored = strength(secret.clone(), context).await?;
    if scored.acceptable() {
        NewPassword::parse(secret).map_err(Error::from)
    } else {
        Err(Error::WeakPassword(scored.explanation()))
    }
}
