//! The session model: the rules, with no HTTP and no database I/O in them.
//!
//! * `input`: validated request values (the rules themselves are in `shared::rules`).
//! * `session`: why a session ends and the one activity predicate (idle, absolute, ended).
//! * `approval`: the second-device request's states and their transitions.
//! * `admission`: the one decision "logged in / needs approval / refused".
//! * `factors`: what protects an account beyond its password.
//! * `second_factor`: proofs and sudo mode's window, authenticator and recovery codes.
//! * `secrets`: minting tokens and codes, and their stored hashes.
//! * `passwords`: argon2id on dedicated threads.
//! * `device`: what a user agent and an address say about a device.
//! * `activity`: kinds of entries in the account's activity log.
//! * `mail`: which alerts are mailed, how often, their stored payload and their text.
//! * `policy`: every fixed limit and lifetime of the product.
//! * `api_key`: the admin API's keys: their scope and form.
//! * `forward_auth`: the URL a proxy protects, where a sign-in may return to, identity headers.
//! * `webhooks`: Standard Webhooks secrets and signatures, retries, allowed addresses.

pub mod activity;
pub mod admission;
pub mod alerts;
pub mod api_key;
pub mod approval;
pub mod device;
pub mod factors;
pub mod forward_auth;
pub mod input;
pub mod mail;
pub mod passwords;
pub mod policy;
pub mod second_factor;
pub mod secrets;
pub mod session;
pub mod shard;
pub mod throttle;
pub mod webhooks;

/// An enum stored in a `TEXT` column (checked by a constraint in the migrations): its
/// variants, their stored names, and diesel's mapping both ways.
macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
                Self::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!("unknown {} {text:?}", stringify!($name)))
                })
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    diesel::pg::Pg,
                >>::from_sql(bytes)?;
                Self::parse(&text)
                    .ok_or_else(|| format!("unknown {} {text:?} in the database", stringify!($name)).into())
            }
        }
    };
}
pub(crate) use text_enum;
