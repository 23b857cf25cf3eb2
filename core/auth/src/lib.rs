//! Accord's authentication rules, free of I/O so the API and the gateway share them: tokens in
//! Discord's three-part shape signed with HMAC-SHA256 and verified without a database read,
//! the in-memory revocation state that makes them revocable, Argon2id password hashing with the
//! instance's password rules, and the signatures of Discord-style expiring attachment URLs.

pub mod digest;
pub mod password;
pub mod signed_url;
pub mod token;

pub use digest::secret_digest;
pub use password::{HashCost, PasswordRules, hash_password, verify_password};
pub use signed_url::{UrlCheck, UrlSigningKey};
pub use token::{Claims, Revocations, TokenError, TokenSigner, now_ms};
