//! The bottom layer: typed settings and the clock. Imports nothing of this crate.
//!
//! Settings come from the environment, one module per concern, each listing its variables:
//! [`server`], [`database`], [`session`], [`approval`], [`throttle`], [`mail`], [`sockets`],
//! [`retention`], [`forward_auth`], [`webhooks`]; [`env`] reads them, [`secret`] keeps keys and passwords out of `Debug`.

pub mod approval;
pub mod clock;
pub mod database;
pub mod env;
pub mod forward_auth;
pub mod mail;
pub mod retention;
pub mod secret;
pub mod server;
pub mod session;
pub mod settings;
pub mod sockets;
pub mod throttle;
pub mod webhooks;

pub use clock::{Clock, ShiftedClock, SystemClock};
pub use env::SettingsError;
pub use secret::{Secret, SecretUrl};
pub use session::LimitPolicy;
pub use settings::{Settings, load_dotenv};
