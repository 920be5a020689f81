//! What the tests share: a running server on its own database (`app`), browsers (`device`),
//! the admin command and the admin API with a key (`admin`),
//! sockets (`socket`), a device waiting for approval (`waiting`), mailboxes (`mailbox`), nginx
//! in front of a protected app (`proxy`), webhook receivers (`receiver`) and a PostgreSQL
//! primary with a streaming replica (`replica`), and a small PostgreSQL behind PgBouncer
//! (`pooler`).
//! Test files `use crate::support::*;`.

mod admin;
mod app;
mod authenticator;
mod device;
mod mailbox;
mod passkey;
mod pooler;
mod proxy;
mod receiver;
mod replica;
mod socket;
mod timing;
mod waiting;

pub use admin::*;
pub use app::*;
pub use authenticator::*;
pub use device::*;
pub use mailbox::*;
pub use passkey::*;
pub use pooler::*;
pub use proxy::*;
pub use receiver::*;
pub use replica::*;
pub use socket::*;
pub use timing::*;
pub use waiting::*;

pub use crate::database::TestDatabase;

pub const PASSWORD: &str = "correct horse battery";

pub const CHROME_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
pub const FIREFOX_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
pub const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
