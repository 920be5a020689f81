pub mod confirm_device;
pub mod dashboard;
pub mod login;
pub mod recovery;
pub mod signup;
pub mod waiting;
