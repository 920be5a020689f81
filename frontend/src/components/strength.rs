//! How hard the password being typed is to guess, asked of the server (zxcvbn runs there:
//! its dictionaries would more than double the app's size) a moment after typing stops.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::PasswordStrength;

use crate::api;
use crate::validation::new_password_problem;

/// Shows the strength of `password` for an account with this `email` and `name` as a bar
/// and a word; the server's answer goes to `strength`, whose advice the form shows as the
/// field's one message (`validation::weakness`).
#[component]
pub fn StrengthMeter(
    password: RwSignal<String>,
    #[prop(into)] email: Signal<String>,
    #[prop(into)] name: Signal<String>,
    strength: RwSignal<Option<PasswordStrength>>,
) -> impl IntoView {
    // Only the latest keystroke's answer counts.
    let asked = StoredValue::new(0u32);
    Effect::new(move |_| {
        let value = password.get();
        asked.update_value(|n| *n += 1);
        let ticket = asked.get_value();
        if value.is_empty() || new_password_problem(&value).is_some() {
            strength.set(None);
            return;
        }
        let (email, name) = (email.get_untracked(), name.get_untracked());
        set_timeout(
            move || {
                if asked.get_value() != ticket {
                    return;
                }
                spawn_local(async move {
                    let answer = api::password_strength(value, Some(email), Some(name))
                        .await
                        .ok();
                    if asked.get_value() == ticket {
                        strength.set(answer);
                    }
                });
            },
            Duration::from_millis(300),
        );
    });
    move || {
        strength.get().map(|strength| {
            let verdict = match strength.score {
                0 | 1 => "Very weak",
                2 => "Weak",
                3 => "Good",
                _ => "Strong",
            };
            view! {
                <div class="strength" id="password-strength" data-score=strength.score.to_string()
                    data-acceptable=strength.acceptable.to_string() aria-live="polite">
                    <div class="strength-bar"><span class=format!("fill s{}", strength.score)></span></div>
                    <p class="small">"Strength: " <strong>{verdict}</strong></p>
                </div>
            }
        })
    }
}
