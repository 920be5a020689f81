//! Timestamps on the hot responses (`/api/auth/me`, session lists), written exactly as
//! chrono's own `Serialize` writes them (RFC 3339, `Z`, a fraction of 0, 3, 6 or 9 digits:
//! the same `to_rfc3339_opts` formatting), but handed to the serializer as one string.
//! chrono passes its pieces one by one through `collect_str`, and serde_json scans each
//! piece for characters to escape: about twenty small writes per timestamp instead of one.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serializer;

pub fn rfc3339<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&time.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde::Serialize;

    #[derive(Serialize)]
    struct Ours(#[serde(serialize_with = "super::rfc3339")] chrono::DateTime<Utc>);

    #[test]
    fn writes_what_chronos_serialize_writes() {
        let base = Utc.with_ymd_and_hms(2026, 12, 3, 13, 4, 5).unwrap();
        let mut times = vec![
            base,
            Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
        ];
        // Every fraction length chrono chooses: none, milli, micro, nano.
        for nanos in [
            0,
            1,
            7,
            120,
            1_000,
            123_000,
            1_000_000,
            120_000_000,
            999_999_999,
        ] {
            times.push(base + chrono::Duration::nanoseconds(nanos));
        }
        for time in times {
            assert_eq!(
                serde_json::to_string(&Ours(time)).unwrap(),
                serde_json::to_string(&time).unwrap()
            );
        }
    }
}
