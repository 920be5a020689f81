//! Telling the user when something unusual happens: a sign-in from a device, network or
//! country never seen on the account, a request denied as "this wasn't me", a correct
//! password refused. Each is an activity-log entry, a `security_alert` to the devices and a
//! mail to the account's address (see `model::mail` for which are mailed and how often).

use chrono::{DateTime, Utc};
use shared::{AlertKind, SecurityAlert};
use uuid::Uuid;

use crate::error::Error;
use crate::events::Event;
use crate::events::unit_of_work::Tx;
use crate::model::activity::ActivityKind;
use crate::model::alerts::{Novelty, Seen, device_key, network_key};
use crate::model::device::ClientInfo;
use crate::model::mail::Mail;
use crate::storage::activity::NewEntry;
use crate::storage::history;
use crate::storage::sessions::SessionRow;

fn alert(
    kind: AlertKind,
    session_id: Option<Uuid>,
    client: &ClientInfo,
    now: DateTime<Utc>,
) -> SecurityAlert {
    SecurityAlert {
        kind,
        session_id,
        device: client.label(),
        ip: client.ip.clone(),
        country: client.country.clone(),
        at: now,
    }
}

/// Classifies a new session against what the account signed in from before, records what
/// is new, and (with `tell_devices`) alerts the account's other devices.
pub async fn signed_in(
    tx: &mut Tx<'_>,
    session: &SessionRow,
    client: &ClientInfo,
    tell_devices: bool,
) -> Result<Novelty, Error> {
    let user_id = session.user_id;
    let now = tx.now();
    // Device, network and country recorded with one statement.
    let device = device_key(client);
    let network = network_key(&client.ip);
    let mut seen = vec![(Seen::Device.as_str(), device.as_str())];
    if let Some(network) = &network {
        seen.push((Seen::Network.as_str(), network.as_str()));
    }
    if let Some(country) = &client.country {
        seen.push((Seen::Country.as_str(), country.as_str()));
    }
    let new = history::record(tx.conn(), user_id, &seen, now).await?;
    let is_new = |kind: Seen| {
        seen.iter()
            .zip(&new)
            .any(|((seen_kind, _), new)| *seen_kind == kind.as_str() && *new)
    };
    let novelty = Novelty {
        device: is_new(Seen::Device),
        network: is_new(Seen::Network),
        country: is_new(Seen::Country),
    };
    let entry = |kind| {
        NewEntry::new(user_id, kind, now)
            .session(session.id)
            .from_device(&client.ip, client.label())
    };
    if novelty.device_or_network() {
        tx.log(entry(ActivityKind::NewDeviceLogin).detail(novelty.describe()));
    }
    if novelty.country {
        let country = client.country.clone().unwrap_or_default();
        tx.log(entry(ActivityKind::NewCountryLogin).detail(country));
    }
    let kind = if novelty.country {
        Some(AlertKind::NewCountry)
    } else if novelty.device_or_network() {
        Some(AlertKind::NewDevice)
    } else {
        None
    };
    if let Some(kind) = kind {
        let alert = alert(kind, Some(session.id), client, now);
        // The mail goes even when the devices are not told (a device approved it): it is
        // the record outside the app, where someone holding the session cannot erase it.
        tx.mail(user_id, Mail::Alert(alert.clone()));
        if tell_devices {
            tx.announce(Event::SecurityAlert {
                user_id,
                except_session: Some(session.id),
                alert,
            });
        }
    }
    Ok(novelty)
}

/// A correct password was refused (the limit, too many requests): whoever sent it knows
/// the password, and the user must hear of it.
pub fn login_refused(tx: &mut Tx<'_>, user_id: Uuid, client: &ClientInfo, why: &str) {
    let now = tx.now();
    tx.log(
        NewEntry::new(user_id, ActivityKind::LoginRefused, now)
            .from_device(&client.ip, client.label())
            .detail(why),
    );
    let alert = alert(AlertKind::LoginRefused, None, client, now);
    tx.mail(user_id, Mail::Alert(alert.clone()));
    tx.announce(Event::SecurityAlert {
        user_id,
        except_session: None,
        alert,
    });
}

/// A request was denied as "this wasn't me".
pub fn suspicious_login_denied(tx: &mut Tx<'_>, user_id: Uuid, requester: &ClientInfo, by: &str) {
    let now = tx.now();
    tx.log(
        NewEntry::new(user_id, ActivityKind::SuspiciousLoginDenied, now)
            .from_device(&requester.ip, requester.label())
            .detail(by),
    );
    let alert = alert(AlertKind::SuspiciousLoginDenied, None, requester, now);
    tx.mail(user_id, Mail::Alert(alert.clone()));
    tx.announce(Event::SecurityAlert {
        user_id,
        except_session: None,
        alert,
    });
}

/// An unrecognised device gave the right password and no device can approve it: the code
/// it must type goes to the account's address, with what the mail says about the device.
pub fn sign_in_code(tx: &mut Tx<'_>, user_id: Uuid, client: &ClientInfo, code: shared::Secret) {
    let now = tx.now();
    tx.mail(
        user_id,
        Mail::SignInCode {
            device: alert(AlertKind::SignInCode, None, client, now),
            code,
        },
    );
}

/// The password was changed by `client` (from `session_id`, unless through a reset link):
/// the mail tells the owner outside the app.
pub fn password_changed(
    tx: &mut Tx<'_>,
    user_id: Uuid,
    session_id: Option<Uuid>,
    client: &ClientInfo,
) {
    let now = tx.now();
    tx.mail(
        user_id,
        Mail::Alert(alert(AlertKind::PasswordChanged, session_id, client, now)),
    );
}

/// What signs in to the account changed (`kind`: the authenticator app on or off, a passkey
/// added or removed) from `session`, asked for by `client`: the mail tells the owner outside
/// the app, with the "this wasn't me" link, since a stolen session that passed sudo mode could
/// do it (and names where the request came from, not where the session began).
pub fn sign_in_methods_changed(
    tx: &mut Tx<'_>,
    session: &SessionRow,
    client: &ClientInfo,
    kind: AlertKind,
) {
    let now = tx.now();
    tx.mail(
        session.user_id,
        Mail::Alert(alert(kind, Some(session.id), client, now)),
    );
}
