//! The harness the emoji and sticker tests share: a server with its own data directory, an
//! owner and their guild, calls under `/guilds/{id}`, members holding chosen permissions, and
//! refusals that must change nothing and send nothing.

use std::path::PathBuf;

use accord_config::Config;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Events, Server, id_of};

/// VIEW_CHANNEL, the one permission @everyone keeps in [`GuildCtx::member`].
const VIEW_CHANNEL: u64 = 1 << 10;

/// A running server, its data directory and a guild with its owner.
pub struct GuildCtx {
    pub s: Server,
    pub data: PathBuf,
    _dir: tempfile::TempDir,
    pub owner: String,
    pub guild: String,
    /// The collection `list` and `no` read: `/emojis` or `/stickers`.
    collection: &'static str,
}

impl GuildCtx {
    /// Starts a server (configured by `tweak` after the data directory is set) and creates the
    /// owner's guild; `collection` is the guild sub-path listed by [`GuildCtx::list`].
    pub async fn new(
        backend: &str,
        collection: &'static str,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_path_buf();
        let s = Server::start_with(backend, |c| {
            c.data_dir = data.clone();
            tweak(c);
        })
        .await;
        let owner = s.register("owner", "correct horse battery").await;
        let guild = id_of(&s.guild(&owner, "Lounge").await);
        Self {
            s,
            data,
            _dir: dir,
            owner,
            guild,
            collection,
        }
    }

    /// A JSON call to `/guilds/{guild}{path}` (a null body sends none).
    pub async fn call(
        &self,
        m: Method,
        path: &str,
        token: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let url = format!("/guilds/{}{path}", self.guild);
        let body = (!body.is_null()).then_some(body);
        self.s.call(m, &url, Some(token), body).await
    }

    /// A member whose only permissions are @everyone's VIEW_CHANNEL plus `perms` via a role.
    pub async fn member(&self, name: &str, perms: u64) -> String {
        let t = self.s.register(name, "correct horse battery").await;
        self.s.join(&self.guild, &t).await;
        let everyone = format!("/roles/{}", self.guild);
        let body = json!({"permissions": VIEW_CHANNEL.to_string()});
        let (st, b) = self.call(Method::PATCH, &everyone, &self.owner, body).await;
        assert_eq!(st, StatusCode::OK, "{b}");
        if perms != 0 {
            let body = json!({"name": name, "permissions": perms.to_string()});
            let (st, role) = self.call(Method::POST, "/roles", &self.owner, body).await;
            assert_eq!(st, StatusCode::OK, "{role}");
            let uid = self.s.user_id(&t).await;
            let path = format!("/members/{uid}/roles/{}", id_of(&role));
            let (st, b) = self
                .call(Method::PUT, &path, &self.owner, Value::Null)
                .await;
            assert_eq!(st, StatusCode::NO_CONTENT, "{b}");
        }
        t
    }

    /// The guild's emojis or stickers, as the owner sees them.
    pub async fn list(&self) -> Vec<Value> {
        let (st, b) = self
            .call(Method::GET, self.collection, &self.owner, Value::Null)
            .await;
        assert_eq!(st, StatusCode::OK, "{b}");
        b.as_array().unwrap().clone()
    }

    /// Asserts a refusal with `status` and `code`, and that nothing changed and nothing was sent.
    pub async fn no(
        &self,
        m: Method,
        path: &str,
        token: &str,
        body: Value,
        want: (u16, u64),
    ) -> Value {
        let before = self.list().await;
        let mut events = Events::new(&self.s);
        let (st, got) = self.call(m.clone(), path, token, body).await;
        assert_eq!(
            (st.as_u16(), got["code"].as_u64()),
            (want.0, Some(want.1)),
            "{m} {path}: {got}"
        );
        events.expect(&[]);
        assert_eq!(self.list().await, before);
        got
    }
}
