//! `?limit=&cursor=` for the logs. Paging is by keyset, so deep pages cost what the first does.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::Error;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The cursor, if one was given (`?cursor=` with nothing after it is the first page).
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref().filter(|cursor| !cursor.is_empty())
    }

    pub fn limit(&self) -> Result<usize, Error> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(limit) => match usize::try_from(limit) {
                Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
                _ => Err(Error::Validation(format!(
                    "limit must be between 1 and {MAX_LIMIT}"
                ))),
            },
        }
    }
}

fn invalid_cursor() -> Error {
    Error::BadRequest("Invalid cursor".into())
}

/// The session log's cursor: `<created_at in µs>_<id>` of the last entry seen.
pub fn encode_history_cursor((created_at, id): (DateTime<Utc>, Uuid)) -> String {
    format!("{}_{id}", created_at.timestamp_micros())
}

pub fn decode_history_cursor(cursor: &str) -> Result<(DateTime<Utc>, Uuid), Error> {
    let (micros, id) = cursor.split_once('_').ok_or_else(invalid_cursor)?;
    let micros: i64 = micros.parse().map_err(|_| invalid_cursor())?;
    let at = DateTime::from_timestamp_micros(micros).ok_or_else(invalid_cursor)?;
    Ok((at, id.parse().map_err(|_| invalid_cursor())?))
}

/// The activity log's cursor: the id of the last entry seen.
pub fn decode_activity_cursor(cursor: &str) -> Result<i64, Error> {
    cursor.parse().map_err(|_| invalid_cursor())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_cursors_round_trip_and_garbage_is_a_bad_request() {
        let key = (
            DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap_or_default(),
            Uuid::nil(),
        );
        assert_eq!(
            decode_history_cursor(&encode_history_cursor(key)).ok(),
            Some(key)
        );
        assert!(matches!(
            decode_history_cursor("garbage"),
            Err(Error::BadRequest(_))
        ));
        assert!(matches!(
            decode_activity_cursor("x1"),
            Err(Error::BadRequest(_))
        ));
    }
}
