//! `/auth/*`: registration, login, logout.

pub mod login;
pub mod logout;
pub mod register;
