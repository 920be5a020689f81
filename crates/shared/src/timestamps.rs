//! Timestamps on the hot responses (`/api/auth/me`, session lists), written exactly as
//! chrono's own `Serialize` writes them (RFC 3339, `Z`, a fraction of 0, 3, 6 or 9 digits:
//! the same `to_rfc3339_opts` formatting), but handed to the serializer as one string.
//! chrono passes its pieces one by one through `collect_str`, and serde_json scans each
//! piece for characters to escape: about twenty small writes per timestamp instead of one.
//! The digits are written into a stack buffer; years outside 0..=9999 and leap seconds,
//! which chrono writes in its own ways, go through chrono.

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use serde::Serializer;

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, the longest this writes.
const LONGEST: usize = 30;

pub fn rfc3339<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut text = Digits::default();
    if text.write(time) {
        serializer.serialize_str(text.as_str())
    } else {
        serializer.serialize_str(&time.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

#[derive(Default)]
struct Digits {
    bytes: [u8; LONGEST],
    len: usize,
}

impl Digits {
    /// Writes `time`; false where chrono must (a year of other than four digits, a leap
    /// second).
    fn write(&mut self, time: &DateTime<Utc>) -> bool {
        // The naive UTC value: `DateTime`'s own accessors apply the (zero) offset anew
        // for each field, several times the work for the six timestamps of a session.
        let time = time.naive_utc();
        let nanos = time.nanosecond();
        let Ok(year) = u32::try_from(time.year()) else {
            return false;
        };
        if year > 9999 || nanos >= 1_000_000_000 {
            return false;
        }
        self.number(year, 4);
        self.byte(b'-');
        self.number(time.month(), 2);
        self.byte(b'-');
        self.number(time.day(), 2);
        self.byte(b'T');
        self.number(time.hour(), 2);
        self.byte(b':');
        self.number(time.minute(), 2);
        self.byte(b':');
        self.number(time.second(), 2);
        // chrono's `AutoSi`: the shortest of milli-, micro- and nanoseconds that is exact.
        if nanos != 0 {
            self.byte(b'.');
            if nanos.is_multiple_of(1_000_000) {
                self.number(nanos / 1_000_000, 3);
            } else if nanos.is_multiple_of(1_000) {
                self.number(nanos / 1_000, 6);
            } else {
                self.number(nanos, 9);
            }
        }
        self.byte(b'Z');
        true
    }

    /// `value` in exactly `width` decimal digits (callers keep it below 10^width).
    fn number(&mut self, value: u32, width: usize) {
        let start = self.len;
        self.len += width;
        let mut rest = value;
        for position in (start..self.len).rev() {
            if let (Some(slot), Ok(digit)) = (self.bytes.get_mut(position), u8::try_from(rest % 10))
            {
                *slot = b'0' + digit;
            }
            rest /= 10;
        }
    }

    fn byte(&mut self, byte: u8) {
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = byte;
        }
        self.len += 1;
    }

    fn as_str(&self) -> &str {
        self.bytes
            .get(..self.len)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Datelike, TimeZone, Utc};
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
            Utc.with_ymd_and_hms(2000, 2, 29, 9, 8, 7).unwrap(),
            // Through chrono: years of other than four digits, and a leap second.
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 6, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(12, 6, 1, 0, 0, 0).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
                .and_then(|date| date.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
                .unwrap()
                .and_utc(),
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
        // A day in each of 20 000 days' steps across the four-digit years, at varied times.
        let mut day = Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap();
        while day.year() < 9999 {
            times.push(day);
            day += chrono::Duration::days(181) + chrono::Duration::seconds(3_607);
        }
        for time in times {
            assert_eq!(
                serde_json::to_string(&Ours(time)).unwrap(),
                serde_json::to_string(&time).unwrap()
            );
        }
    }
}
