//! Integration tests of the store: every scenario runs once on a fresh SQLite file and once on a
//! fresh PostgreSQL database (`TEST_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`); a PostgreSQL test fails if the server is
//! unreachable.

#[path = "store/support.rs"]
mod support;

#[path = "store/accounts.rs"]
mod accounts;
#[path = "store/batching.rs"]
mod batching;
#[path = "store/channels.rs"]
mod channels;
#[path = "store/guilds.rs"]
mod guilds;
#[path = "store/members.rs"]
mod members;
#[path = "store/messages.rs"]
mod messages;
#[path = "store/moderation.rs"]
mod moderation;
#[path = "store/reactions.rs"]
mod reactions;
#[path = "store/stickers.rs"]
mod stickers;
