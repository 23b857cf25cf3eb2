//! Accord's authentication rules, free of I/O so the API and the gateway share them: tokens in
//! Discord's three-part shape signed with HMAC-SHA256 and verified without a database read,
//! the in-memory revocation state that makes them revocable, and Argon2id password hashing with
//! the instance's password rules.

pub mod password;
pub mod token;

pub use password::{HashCost, PasswordRules, hash_password, verify_password};
pub use token::{Claims, Revocations, TokenError, TokenSigner, now_ms};
