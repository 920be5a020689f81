pub mod dashboard;
pub mod login;
pub mod signup;
pub mod waiting;
