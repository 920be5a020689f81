//! The bottom layer: typed settings and the clock. Imports nothing of this crate.

pub mod clock;
pub mod settings;

pub use clock::{Clock, ShiftedClock, SystemClock};
pub use settings::{LimitPolicy, Settings, SettingsError, load_dotenv};
