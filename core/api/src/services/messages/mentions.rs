//! Mentions of a message: parsed from its content (`<@id>`, `<@!id>`, `<@&id>`, `@everyone`,
//! `@here`), filtered by `allowed_mentions`, the sender's MENTION_EVERYONE permission, role
//! mentionability, and who can be mentioned (members of the guild, recipients of the DM).

use std::collections::BTreeSet;

use accord_model::{
    AllowedMentionType, AllowedMentions, ErrorTree, GuildId, Permissions, RoleId, UserId,
};
use accord_store::{MemberRecord, RoleRecord};

use crate::error::ApiResult;
use crate::state::AppState;

/// The mention tokens found in some content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tokens {
    /// `<@id>` and `<@!id>`, in order of first appearance.
    pub users: Vec<u64>,
    /// `<@&id>`, in order of first appearance.
    pub roles: Vec<u64>,
    /// `@everyone` or `@here` appears.
    pub everyone: bool,
}

/// Scans content for mention tokens.
pub fn scan(content: &str) -> Tokens {
    let mut t = Tokens {
        everyone: content.contains("@everyone") || content.contains("@here"),
        ..Tokens::default()
    };
    let mut rest = content;
    while let Some(at) = rest.find("<@") {
        rest = &rest[at + 2..];
        let (is_role, body) = match rest.as_bytes().first() {
            Some(b'&') => (true, &rest[1..]),
            Some(b'!') => (false, &rest[1..]),
            _ => (false, rest),
        };
        let digits = body.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || body.as_bytes().get(digits) != Some(&b'>') {
            continue;
        }
        if let Ok(id) = body[..digits].parse::<u64>() {
            let list = if is_role { &mut t.roles } else { &mut t.users };
            if !list.contains(&id) {
                list.push(id);
            }
        }
    }
    t
}

/// Checks an `allowed_mentions` object against Discord's rules (a type in `parse` excludes its
/// explicit list; at most 100 ids per list).
pub fn validate(tree: &mut ErrorTree, a: &AllowedMentions) {
    let parse = a.parse.as_deref().unwrap_or(&[]);
    for (kind, list, name) in [
        (
            AllowedMentionType::Users,
            a.users.as_ref().map(Vec::len),
            "users",
        ),
        (
            AllowedMentionType::Roles,
            a.roles.as_ref().map(Vec::len),
            "roles",
        ),
    ] {
        let Some(len) = list else { continue };
        if parse.contains(&kind) && len > 0 {
            tree.add(
                &["allowed_mentions", "parse"],
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                format!("parse:[\"{name}\"] and {name}: [ids...] are mutually exclusive."),
            );
        }
        if len > 100 {
            tree.add(
                &["allowed_mentions", name],
                "BASE_TYPE_MAX_LENGTH",
                "Must be 100 or fewer in length.",
            );
        }
    }
}

/// What a message mentions once everything is applied.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// Mentioned users, ascending.
    pub users: Vec<UserId>,
    /// Mentioned roles, ascending.
    pub roles: Vec<RoleId>,
    /// Whether `@everyone`/`@here` took effect.
    pub everyone: bool,
    /// The members of the mentioned users (guild channels).
    pub members: Vec<MemberRecord>,
}

/// Where the message is posted, for resolving its mentions.
pub enum Place<'a> {
    /// A guild channel: the guild, its roles and the sender's permissions in the channel.
    Guild {
        /// The guild.
        id: GuildId,
        /// Every role of the guild.
        roles: &'a [RoleRecord],
        /// The sender's channel permissions.
        permissions: Permissions,
    },
    /// A DM or group DM (any existing user can be mentioned; only recipients see it).
    Private,
}

/// Resolves the mentions of `content` (plus the replied-to author) under `allowed`.
pub async fn resolve(
    state: &AppState,
    place: Place<'_>,
    content: &str,
    allowed: Option<&AllowedMentions>,
    replied_author: Option<UserId>,
) -> ApiResult<Resolved> {
    let tokens = scan(content);
    let parse = |kind| allowed.is_none_or(|a| a.parse.as_deref().unwrap_or(&[]).contains(&kind));
    let user_listed = |id: u64| {
        allowed
            .and_then(|a| a.users.as_ref())
            .is_some_and(|l| l.iter().any(|u| u.get() == id))
    };
    let role_listed = |id: u64| {
        allowed
            .and_then(|a| a.roles.as_ref())
            .is_some_and(|l| l.iter().any(|r| r.get() == id))
    };
    let mut users: BTreeSet<UserId> = tokens
        .users
        .iter()
        .filter(|id| parse(AllowedMentionType::Users) || user_listed(**id))
        .map(|id| UserId::new(*id))
        .collect();
    let reply_ping = allowed.is_none_or(|a| a.replied_user.unwrap_or(false));
    if let (Some(author), true) = (replied_author, reply_ping) {
        users.insert(author);
    }
    let wanted_roles: Vec<u64> = tokens
        .roles
        .iter()
        .copied()
        .filter(|id| parse(AllowedMentionType::Roles) || role_listed(*id))
        .collect();
    let users: Vec<UserId> = users.into_iter().collect();
    match place {
        Place::Guild {
            id,
            roles,
            permissions,
        } => {
            let everyone_allowed = permissions.contains(Permissions::MENTION_EVERYONE);
            let members = if users.is_empty() {
                Vec::new()
            } else {
                state.store.members_by_ids(id, &users).await?
            };
            let mut users: Vec<UserId> = members
                .iter()
                .map(|m| UserId::from_i64(m.user_id))
                .collect();
            users.sort_unstable();
            let mut roles: Vec<RoleId> = roles
                .iter()
                .filter(|r| r.id != id.as_i64() && wanted_roles.contains(&(r.id as u64)))
                .filter(|r| r.mentionable || everyone_allowed)
                .map(|r| RoleId::from_i64(r.id))
                .collect();
            roles.sort_unstable();
            Ok(Resolved {
                users,
                roles,
                everyone: tokens.everyone
                    && everyone_allowed
                    && parse(AllowedMentionType::Everyone),
                members,
            })
        }
        Place::Private => {
            let mut users: Vec<UserId> = if users.is_empty() {
                Vec::new()
            } else {
                let found = state.store.users(&users).await?;
                found.iter().map(|u| UserId::from_i64(u.id)).collect()
            };
            users.sort_unstable();
            Ok(Resolved {
                users,
                ..Resolved::default()
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_every_token_kind() {
        let t = scan("hi <@1> <@!2> <@&3> <@1> <@x> <@&> @here <@4");
        assert_eq!(t.users, vec![1, 2]);
        assert_eq!(t.roles, vec![3]);
        assert!(t.everyone);
        assert!(!scan("nothing").everyone);
    }
}
