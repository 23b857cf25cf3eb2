//! Webhook records → Discord's webhook object (developers/resources/webhook.mdx).

use accord_model::{ApplicationId, ChannelId, GuildId, User, Webhook, WebhookId, WebhookType};
use accord_store::WebhookRecord;

/// The webhook object; `user` is its creator (omitted when fetched with its token), `token`
/// is shown only when `with_token`.
pub fn webhook(w: &WebhookRecord, user: Option<User>, with_token: bool) -> Webhook {
    Webhook {
        id: WebhookId::from_i64(w.id),
        kind: match w.kind {
            2 => WebhookType::ChannelFollower,
            3 => WebhookType::Application,
            _ => WebhookType::Incoming,
        },
        guild_id: Some(w.guild_id.map(GuildId::from_i64)),
        channel_id: w.channel_id.map(ChannelId::from_i64),
        user,
        name: w.name.clone(),
        avatar: w.avatar.clone(),
        token: if with_token { w.token.clone() } else { None },
        application_id: w.application_id.map(ApplicationId::from_i64),
        source_guild: None,
        source_channel: None,
        url: None,
    }
}
