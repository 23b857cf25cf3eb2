//! Shared set-up of the message tests: a guild with an owner and a plain member whose
//! `@everyone` permissions are exactly VIEW_CHANNEL, SEND_MESSAGES and READ_MESSAGE_HISTORY.

#![allow(dead_code)]

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Server, id_of};

/// VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY.
pub const BASE: u64 = (1 << 10) | (1 << 11) | (1 << 16);

/// A guild with two users and its text channel.
pub struct Ctx {
    pub s: Server,
    pub owner: String,
    pub owner_id: String,
    pub member: String,
    pub member_id: String,
    pub guild: String,
    pub channel: String,
}

impl Ctx {
    /// Starts a server (REST rate limits off: these tests send bursts) and sets the guild up.
    pub async fn new(backend: &str) -> Self {
        Self::with(Server::start_with(backend, |c| c.rate_limits.enabled = false).await).await
    }

    /// Sets the guild up on a started server.
    pub async fn with(s: Server) -> Self {
        let owner = s.register("owner", "correct horse").await;
        let member = s.register("member", "correct horse").await;
        let owner_id = s.user_id(&owner).await;
        let member_id = s.user_id(&member).await;
        let guild = id_of(&s.guild(&owner, "Talk").await);
        s.join(&guild, &member).await;
        let (status, body) = s
            .call(
                Method::PATCH,
                &format!("/guilds/{guild}/roles/{guild}"),
                Some(&owner),
                Some(json!({"permissions": BASE.to_string()})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let channel = Self::channel_of_type(&s, &owner, &guild, 0).await;
        Self {
            s,
            owner,
            owner_id,
            member,
            member_id,
            guild,
            channel,
        }
    }

    /// The id of the guild's first channel of `kind`.
    pub async fn channel_of_type(s: &Server, token: &str, guild: &str, kind: u64) -> String {
        let (status, list) = s
            .call(
                Method::GET,
                &format!("/guilds/{guild}/channels"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        id_of(
            list.as_array()
                .unwrap()
                .iter()
                .find(|c| c["type"] == kind)
                .expect("a channel of that type"),
        )
    }

    /// POSTs `body` as a message to `channel` as `token`.
    pub async fn send_to(&self, token: &str, channel: &str, body: Value) -> (StatusCode, Value) {
        self.s
            .call(
                Method::POST,
                &format!("/channels/{channel}/messages"),
                Some(token),
                Some(body),
            )
            .await
    }

    /// POSTs `body` as a message to the text channel as `token`.
    pub async fn send(&self, token: &str, body: Value) -> (StatusCode, Value) {
        self.send_to(token, &self.channel, body).await
    }

    /// Sends `content` as `token` and returns the message, asserting success.
    pub async fn say(&self, token: &str, content: &str) -> Value {
        let (status, m) = self.send(token, json!({"content": content})).await;
        assert_eq!(status, StatusCode::OK, "{m}");
        m
    }

    /// Sets a member overwrite on the text channel for `user`.
    pub async fn overwrite(&self, user: &str, allow: u64, deny: u64) {
        let (status, body) = self
            .s
            .call(
                Method::PUT,
                &format!("/channels/{}/permissions/{user}", self.channel),
                Some(&self.owner),
                Some(json!({"type": 1, "allow": allow.to_string(), "deny": deny.to_string()})),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }

    /// The newest messages of the text channel as the owner sees them.
    pub async fn latest(&self) -> Vec<Value> {
        let (status, list) = self
            .s
            .call(
                Method::GET,
                &format!("/channels/{}/messages", self.channel),
                Some(&self.owner),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        list.as_array().unwrap().clone()
    }
}
