//! `/applications/*`: applications, their bots and privileged-intent flags.

pub mod application;
pub mod bot;
pub mod collection;
pub mod common;
pub mod me;
