pub mod dashboard;
pub mod login;
pub mod recovery;
pub mod signup;
pub mod waiting;
