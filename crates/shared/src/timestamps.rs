//! Every timestamp on the wire, in RFC 3339 (`#[serde(with = "crate::timestamps")]`, and
//! `timestamps::option` for the optional ones).
//!
//! Written exactly as chrono's own `Serialize` writes them (`Z`, a fraction of 0, 3, 6 or 9
//! digits: the same `to_rfc3339_opts` formatting), but handed to the serializer as one
//! string. chrono passes its pieces one by one through `collect_str`, and serde_json scans
//! each piece for characters to escape: about twenty small writes per timestamp instead of
//! one. The digits are written into a stack buffer; years outside 0..=9999 and leap seconds,
//! which chrono writes in its own ways, go through chrono.
//!
//! Read by a parser of RFC 3339 alone, the format the OpenAPI document promises. chrono's
//! `Deserialize` goes through its general format parser, which was 16 KB of the browser's
//! first wasm module (of about 585); this one takes about 1 KB and gives chrono's instant
//! for every RFC 3339 text (a test compares them). What chrono takes beyond RFC 3339 (a
//! Unicode minus in the offset, a year of other than four digits) it refuses.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, SecondsFormat, Timelike, Utc};
use serde::Serializer;
use serde::de::{self, Deserializer, Visitor};

pub fn serialize<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut text = Digits::default();
    if text.write(time) {
        serializer.serialize_str(text.as_str())
    } else {
        serializer.serialize_str(&time.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    deserializer.deserialize_str(Rfc3339)
}

/// `Option<DateTime<Utc>>`: `null` for none.
pub mod option {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        time: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => serializer.serialize_some(&Written(time)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        Ok(Option::<Read>::deserialize(deserializer)?.map(|Read(time)| time))
    }

    /// One timestamp, written by `super::serialize`.
    #[derive(Serialize)]
    #[serde(transparent)]
    struct Written<'a>(#[serde(serialize_with = "super::serialize")] &'a DateTime<Utc>);

    /// One timestamp, read by `super::deserialize`.
    #[derive(Deserialize)]
    #[serde(transparent)]
    struct Read(#[serde(deserialize_with = "super::deserialize")] DateTime<Utc>);
}

struct Rfc3339;

impl Visitor<'_> for Rfc3339 {
    type Value = DateTime<Utc>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("an RFC 3339 date and time")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        parse(text).ok_or_else(|| E::invalid_value(de::Unexpected::Str(text), &self))
    }
}

/// An RFC 3339 date and time (`2026-12-05T04:20:00Z`, `2026-12-05T05:20:00.5+01:00`; `t`,
/// `z` and a space for `T` as RFC 3339 allows), as UTC. Digits past nanoseconds are cut, as
/// chrono cuts them; a second of 60 is chrono's leap second.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    let mut cursor = Cursor(text.as_bytes());
    let year = cursor.number(4)?;
    cursor.expect(b"-")?;
    let month = cursor.number(2)?;
    cursor.expect(b"-")?;
    let day = cursor.number(2)?;
    cursor.expect(b"Tt ")?;
    let hour = cursor.number(2)?;
    cursor.expect(b":")?;
    let minute = cursor.number(2)?;
    cursor.expect(b":")?;
    let second = cursor.number(2)?;
    let mut nanos = 0;
    if cursor.expect(b".").is_some() {
        let mut digits = 0;
        while let Some(digit) = cursor.digit() {
            if digits < 9 {
                nanos = nanos * 10 + digit;
            }
            digits += 1;
        }
        if digits == 0 {
            return None;
        }
        for _ in digits..9 {
            nanos *= 10;
        }
    }
    let offset_seconds = match cursor.next()? {
        b'Z' | b'z' => 0,
        sign @ (b'+' | b'-') => {
            let hours = cursor.number(2)?;
            cursor.expect(b":")?;
            let minutes = cursor.number(2)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = i32::try_from(hours * 3600 + minutes * 60).ok()?;
            if sign == b'-' { -seconds } else { seconds }
        }
        _ => return None,
    };
    if !cursor.0.is_empty() {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let time = if second == 60 {
        NaiveTime::from_hms_nano_opt(hour, minute, 59, nanos + 1_000_000_000)?
    } else {
        NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?
    };
    // As an offset, not a duration: chrono's arithmetic with durations leaves a leap second.
    let offset = FixedOffset::east_opt(offset_seconds)?;
    Some(date.and_time(time).checked_sub_offset(offset)?.and_utc())
}

/// What is left of the text to read.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    /// The next byte, consumed if `accept` takes it; `None` (and nothing consumed) otherwise.
    fn next_if(&mut self, accept: impl Fn(u8) -> bool) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        accept(first).then(|| {
            self.0 = rest;
            first
        })
    }

    fn next(&mut self) -> Option<u8> {
        self.next_if(|_| true)
    }

    /// One of `allowed`, consumed.
    fn expect(&mut self, allowed: &[u8]) -> Option<()> {
        self.next_if(|byte| allowed.contains(&byte)).map(drop)
    }

    fn digit(&mut self) -> Option<u32> {
        self.next_if(|byte| byte.is_ascii_digit())
            .map(|digit| u32::from(digit - b'0'))
    }

    /// Exactly `width` decimal digits.
    fn number(&mut self, width: usize) -> Option<u32> {
        let mut value = 0;
        for _ in 0..width {
            value = value * 10 + self.digit()?;
        }
        Some(value)
    }
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, the longest this writes.
const LONGEST: usize = 30;

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
    use chrono::{DateTime, Datelike, TimeZone, Utc};
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Ours(#[serde(with = "super")] DateTime<Utc>);

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Maybe {
        #[serde(with = "super::option", default)]
        at: Option<DateTime<Utc>>,
    }

    /// What chrono makes of a text: its RFC 3339 parser, and its `Deserialize`.
    fn chronos(text: &str) -> Option<DateTime<Utc>> {
        let strict = DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|time| time.with_timezone(&Utc));
        if strict.is_some() {
            let deserialized: DateTime<Utc> =
                serde_json::from_value(serde_json::Value::String(text.to_owned())).unwrap();
            assert_eq!(strict, Some(deserialized), "{text}");
        }
        strict
    }

    #[test]
    fn reads_rfc_3339_as_chrono_does() {
        let mut texts: Vec<String> = [
            "2026-12-05T04:20:00Z",
            "2026-12-05t04:20:00z",
            "2026-12-05 04:20:00Z",
            "2026-12-05T04:20:00+00:00",
            "2026-12-05T04:20:00-00:00",
            "2026-12-05T04:20:00+05:30",
            "2026-12-05T04:20:00-23:59",
            "2026-12-05T04:20:00+23:59",
            "2016-12-31T23:59:60Z",
            "2016-12-31T23:59:60.5Z",
            "2016-12-31T23:59:60.999999999Z",
            "2017-01-01T00:59:60+01:00",
            "2016-12-31T18:59:60.25-05:00",
            "2000-02-29T12:00:00Z",
            "0000-01-01T00:00:00+01:00",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59-01:00",
            "9999-12-31T23:59:59.999999999Z",
            "1970-01-01T00:00:00.000Z",
        ]
        .map(str::to_owned)
        .to_vec();
        // Fractions of every length, longer than nanoseconds included.
        for digits in 1..=12 {
            texts.push(format!(
                "2026-12-05T04:20:00.{}Z",
                "123456789987".get(..digits).unwrap()
            ));
            texts.push(format!(
                "2026-12-05T04:20:00.{}+02:00",
                "000000001000".get(..digits).unwrap()
            ));
        }
        for text in &texts {
            let ours = super::parse(text);
            assert!(ours.is_some(), "{text}");
            assert_eq!(ours, chronos(text), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_rfc_3339() {
        for text in [
            "",
            "2026-12-05",
            "2026-12-05T04:20:00",
            "2026-12-05T04:20Z",
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-12-05T24:00:00Z",
            "2026-12-05T04:60:00Z",
            "2026-12-05T04:20:61Z",
            "2026-12-05T04:20:00.Z",
            "2026-12-05T04:20:00+0100",
            "2026-12-05T04:20:00+01",
            "2026-12-05T04:20:00+24:00",
            "2026-12-05T04:20:00+01:60",
            "2026-12-05T04:20:00Zjunk",
            "2026-12-05T04:20:00Z ",
            " 2026-12-05T04:20:00Z",
            "+2026-12-05T04:20:00Z",
            "2026-1-05T04:20:00Z",
            "2026-12-05X04:20:00Z",
            "2026-12-05T04:20:00GMT",
            "２026-12-05T04:20:00Z",
        ] {
            assert_eq!(super::parse(text), None, "{text:?}");
            assert_eq!(chronos(text), None, "{text:?}");
            assert!(
                serde_json::from_value::<Ours>(serde_json::Value::String(text.to_owned())).is_err()
            );
        }
    }

    #[test]
    fn an_optional_timestamp_is_null_absent_or_read_as_one() {
        let at = Utc.with_ymd_and_hms(2026, 12, 5, 4, 20, 0).unwrap();
        let some = Maybe { at: Some(at) };
        assert_eq!(
            serde_json::to_string(&some).unwrap(),
            r#"{"at":"2026-12-05T04:20:00Z"}"#
        );
        assert_eq!(
            serde_json::from_str::<Maybe>(r#"{"at":"2026-12-05T04:20:00Z"}"#).unwrap(),
            some
        );
        let none = Maybe { at: None };
        assert_eq!(serde_json::to_string(&none).unwrap(), r#"{"at":null}"#);
        assert_eq!(
            serde_json::from_str::<Maybe>(r#"{"at":null}"#).unwrap(),
            none
        );
        assert_eq!(serde_json::from_str::<Maybe>("{}").unwrap(), none);
        assert!(serde_json::from_str::<Maybe>(r#"{"at":"yesterday"}"#).is_err());
        assert!(serde_json::from_str::<Maybe>(r#"{"at":5}"#).is_err());
    }

    #[test]
    fn writes_what_chronos_serialize_writes_and_reads_it_back() {
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
            let written = serde_json::to_string(&Ours(time)).unwrap();
            assert_eq!(written, serde_json::to_string(&time).unwrap());
            // Read back as the same instant, where RFC 3339 can write it (four-digit years).
            if (0..=9999).contains(&time.year()) {
                assert_eq!(serde_json::from_str::<Ours>(&written).unwrap(), Ours(time));
            }
        }
    }
}
