pub mod active_sessions;
pub mod activity_log;
pub mod approval_prompt;
pub mod paged;
pub mod profile;
pub mod session_log;
