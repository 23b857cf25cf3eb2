//! Discord's permission computation as pure functions: guild and channel permissions, threads
//! and the role hierarchy (developers/topics/permissions.mdx and threads.mdx).
//!
//! The steps, in Discord's order:
//!
//! 1. The guild owner has every permission, everywhere, and is exempt from timeouts.
//! 2. Base permissions: the @everyone role's permissions OR the permissions of every other role
//!    of the member. `ADMINISTRATOR` in the base grants every permission, bypasses channel
//!    overwrites and exempts from timeouts.
//! 3. In a channel (doc, "Permission Overwrites"): the @everyone overwrite (a role overwrite whose
//!    id is the guild id) removes its `deny` then adds its `allow`; then the overwrites of all the
//!    member's roles are combined (OR of their `deny`s, OR of their `allow`s) and the combined
//!    `deny` is removed before the combined `allow` is added; then the member's own overwrite (a
//!    member overwrite whose id is the user id) removes its `deny` and adds its `allow`.
//! 4. Implicit permissions (doc, "Implicit Permissions"):
//!    - without `VIEW_CHANNEL` in the channel the member has no permission there at all;
//!    - without `SEND_MESSAGES`, `MENTION_EVERYONE`, `SEND_TTS_MESSAGES`, `ATTACH_FILES` and
//!      `EMBED_LINKS` are dropped too, in every channel type that carries messages: text,
//!      announcement, voice and stage channels (their text chat), forum and media channels
//!      (posts) and threads, not categories and directories. The doc states the rule without a
//!      channel qualifier and marks those bits as applying to text, voice and stage channels;
//!    - in voice and stage channels, without `CONNECT`, `MANAGE_CHANNELS` is dropped (the one
//!      permission the doc names; no other is guessed at).
//! 5. Timed-out members (doc, "Permissions For Timed Out Members") keep only `VIEW_CHANNEL` and
//!    `READ_MESSAGE_HISTORY` of what they had, at guild level and in every channel.
//!
//! Threads have no overwrites of their own; see [`thread_permissions`].
//!
//! Results only ever hold defined permission bits: undefined bits found in role permissions or
//! overwrites (kept by [`Permissions::from_bits`] so that they round-trip) are dropped, since
//! Accord can neither grant nor enforce what it does not know.
//!
//! Everything here is about permission bits; whether an action also needs the role hierarchy is
//! the caller's decision ([`can_manage_role`], [`can_manage_member`]).

mod hierarchy;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use hierarchy::{Hierarchy, can_manage_member, can_manage_role, hierarchy};

use crate::channel::{ChannelType, OverwriteType, PermissionOverwrite};
use crate::id::{GenericId, GuildId, RoleId, UserId};
use crate::permissions::Permissions;

/// Everything about a member needed to compute permissions.
#[derive(Debug, Clone, Copy)]
pub struct MemberPermissionContext<'a> {
    /// The guild.
    pub guild_id: GuildId,
    /// The guild's owner.
    pub owner_id: UserId,
    /// The member.
    pub user_id: UserId,
    /// Permissions of the @everyone role (whose id equals the guild id).
    pub everyone: Permissions,
    /// The member's other roles: (id, permissions).
    pub roles: &'a [(RoleId, Permissions)],
    /// communication_disabled_until is in the future.
    pub timed_out: bool,
}

/// One channel permission overwrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Overwrite {
    /// The role id (the guild id for @everyone) or user id.
    pub id: GenericId,
    /// Whether `id` names a role or a member.
    pub kind: OverwriteType,
    /// Permissions granted.
    pub allow: Permissions,
    /// Permissions denied.
    pub deny: Permissions,
}

impl From<PermissionOverwrite> for Overwrite {
    fn from(o: PermissionOverwrite) -> Self {
        Self {
            id: o.id,
            kind: o.kind,
            allow: o.allow,
            deny: o.deny,
        }
    }
}

impl From<&PermissionOverwrite> for Overwrite {
    fn from(o: &PermissionOverwrite) -> Self {
        Self::from(*o)
    }
}

/// What timed-out members keep.
const KEPT_WHEN_TIMED_OUT: Permissions =
    Permissions::VIEW_CHANNEL.union(Permissions::READ_MESSAGE_HISTORY);

/// Implicitly denied without `SEND_MESSAGES` (doc, "Implicit Permissions").
const NEED_SEND_MESSAGES: Permissions = Permissions::MENTION_EVERYONE
    .union(Permissions::SEND_TTS_MESSAGES)
    .union(Permissions::ATTACH_FILES)
    .union(Permissions::EMBED_LINKS);

/// Implicitly denied without `CONNECT` in voice and stage channels.
const NEED_CONNECT: Permissions = Permissions::MANAGE_CHANNELS;

/// The base permissions, before any timeout.
enum Base {
    /// Owner or `ADMINISTRATOR`: every permission, no overwrite, no timeout applies.
    Everything,
    /// The OR of @everyone and the member's roles, defined bits only.
    Computed(Permissions),
}

fn base(m: &MemberPermissionContext) -> Base {
    if m.user_id == m.owner_id {
        return Base::Everything;
    }
    let p = m.roles.iter().fold(m.everyone, |acc, (_, p)| acc | *p);
    if p.contains(Permissions::ADMINISTRATOR) {
        return Base::Everything;
    }
    Base::Computed(Permissions::from_bits_truncate(p.bits()))
}

fn apply_timeout(m: &MemberPermissionContext, p: Permissions) -> Permissions {
    if m.timed_out {
        p & KEPT_WHEN_TIMED_OUT
    } else {
        p
    }
}

/// The member's guild-level permissions: [`Permissions::all`] for the owner and for
/// `ADMINISTRATOR`, otherwise @everyone OR the member's roles, reduced to `VIEW_CHANNEL` and
/// `READ_MESSAGE_HISTORY` while timed out.
pub fn guild_permissions(m: &MemberPermissionContext) -> Permissions {
    match base(m) {
        Base::Everything => Permissions::all(),
        Base::Computed(p) => apply_timeout(m, p),
    }
}

/// Applies the overwrites to non-administrator base permissions, in Discord's order.
///
/// Several entries for the same target (which Discord never stores) are merged: every entry of a
/// step contributes its `deny` and `allow`. The @everyone overwrite is never counted again as a
/// role overwrite, even if `m.roles` lists the guild id; overwrites naming roles the member lacks,
/// other users, or a role id typed as a member (and the reverse) are ignored.
fn apply_overwrites(
    m: &MemberPermissionContext,
    base: Permissions,
    overwrites: &[Overwrite],
) -> Permissions {
    let guild = m.guild_id.get();
    let user = m.user_id.get();
    let holds_role = |id: u64| m.roles.iter().any(|(r, _)| r.get() == id);
    let (mut everyone_allow, mut everyone_deny) = (Permissions::empty(), Permissions::empty());
    let (mut roles_allow, mut roles_deny) = (Permissions::empty(), Permissions::empty());
    let (mut member_allow, mut member_deny) = (Permissions::empty(), Permissions::empty());
    for o in overwrites {
        let id = o.id.get();
        let (allow, deny) = match o.kind {
            OverwriteType::Role if id == guild => (&mut everyone_allow, &mut everyone_deny),
            OverwriteType::Role if holds_role(id) => (&mut roles_allow, &mut roles_deny),
            OverwriteType::Member if id == user => (&mut member_allow, &mut member_deny),
            _ => continue,
        };
        *allow |= o.allow;
        *deny |= o.deny;
    }
    let p = (base - everyone_deny) | everyone_allow;
    let p = (p - roles_deny) | roles_allow;
    let p = (p - member_deny) | member_allow;
    Permissions::from_bits_truncate(p.bits())
}

/// Whether `SEND_MESSAGES` governs sending messages in this kind of channel, so that its absence
/// implicitly denies [`NEED_SEND_MESSAGES`]: text, announcement, voice and stage channels (their
/// text chat), forum and media channels (creating posts) and threads. Categories and directories
/// hold no messages.
const fn has_messages(kind: ChannelType) -> bool {
    !matches!(
        kind,
        ChannelType::GuildCategory | ChannelType::GuildDirectory
    )
}

/// Whether this is a voice or stage channel.
const fn is_voice(kind: ChannelType) -> bool {
    matches!(kind, ChannelType::GuildVoice | ChannelType::GuildStageVoice)
}

/// The `CONNECT` rule: voice and stage channels without `CONNECT` drop `MANAGE_CHANNELS`.
fn connect_rule(p: Permissions, kind: ChannelType) -> Permissions {
    if is_voice(kind) && !p.contains(Permissions::CONNECT) {
        p - NEED_CONNECT
    } else {
        p
    }
}

/// All implicit rules of a channel of `kind` (module docs, step 4).
fn implicit(p: Permissions, kind: ChannelType) -> Permissions {
    if !p.contains(Permissions::VIEW_CHANNEL) {
        return Permissions::empty();
    }
    let p = connect_rule(p, kind);
    if has_messages(kind) && !p.contains(Permissions::SEND_MESSAGES) {
        p - NEED_SEND_MESSAGES
    } else {
        p
    }
}

/// The member's permissions in a channel of kind `channel_kind` with these overwrites.
///
/// [`Permissions::all`] for the owner and for `ADMINISTRATOR` (overwrites, implicit rules and
/// timeouts do not apply to them); otherwise base permissions, then the overwrites, then the
/// implicit rules, then the timeout (module docs). For a thread use [`thread_permissions`] with
/// its parent's overwrites: this function does not apply the thread rules.
pub fn channel_permissions(
    m: &MemberPermissionContext,
    overwrites: &[Overwrite],
    channel_kind: ChannelType,
) -> Permissions {
    match base(m) {
        Base::Everything => Permissions::all(),
        Base::Computed(b) => apply_timeout(
            m,
            implicit(apply_overwrites(m, b, overwrites), channel_kind),
        ),
    }
}

/// The member's permissions in a thread, computed from its parent channel (doc, "Inherited
/// Permissions (Threads)"; threads.mdx, "Permissions").
///
/// [`Permissions::all`] for the owner and for `ADMINISTRATOR`. Otherwise:
///
/// 1. base permissions and the parent's overwrites, as for the parent channel;
/// 2. the parent kind's `CONNECT` rule (a no-op for the text, announcement, forum and media
///    channels that hold threads);
/// 3. `SEND_MESSAGES` is not inherited: its bit is replaced by the parent's
///    `SEND_MESSAGES_IN_THREADS` bit, which stays set as well. So in a thread, `SEND_MESSAGES` in
///    the result means "may send here" and the two bits are always equal;
/// 4. the implicit rules of `thread_kind`: no `VIEW_CHANNEL` on the parent means nothing at all
///    (the doc: `VIEW_CHANNEL` is needed to view any thread of the channel), and without the
///    (replaced) `SEND_MESSAGES` bit `MENTION_EVERYONE`, `SEND_TTS_MESSAGES`, `ATTACH_FILES` and
///    `EMBED_LINKS` are dropped. The parent's own `SEND_MESSAGES` plays no part: a member who may
///    send in threads but not in the announcement channel itself keeps `ATTACH_FILES` and the
///    others in its threads;
/// 5. the timeout.
///
/// The three thread kinds compute the same set. Private threads additionally require being a
/// thread member or having `MANAGE_THREADS` to view or participate (threads.mdx); membership is
/// not known here, so the caller checks it.
pub fn thread_permissions(
    m: &MemberPermissionContext,
    parent_overwrites: &[Overwrite],
    parent_kind: ChannelType,
    thread_kind: ChannelType,
) -> Permissions {
    let b = match base(m) {
        Base::Everything => return Permissions::all(),
        Base::Computed(b) => b,
    };
    let mut p = connect_rule(apply_overwrites(m, b, parent_overwrites), parent_kind);
    p.set(
        Permissions::SEND_MESSAGES,
        p.contains(Permissions::SEND_MESSAGES_IN_THREADS),
    );
    apply_timeout(m, implicit(p, thread_kind))
}
