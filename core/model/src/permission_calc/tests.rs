//! Hand-written cases, one rule at a time: guild level and overwrites here, implicit
//! permissions, timeouts and threads in `implicit`.

mod implicit;

use super::*;

type P = Permissions;

const GUILD: GuildId = GuildId::new(100);
const OWNER: UserId = UserId::new(1);
const USER: UserId = UserId::new(2);
const OTHER_USER: UserId = UserId::new(3);
const ROLE_A: RoleId = RoleId::new(10);
const ROLE_B: RoleId = RoleId::new(11);
/// A role the member does not hold.
const ROLE_C: RoleId = RoleId::new(12);

const VIEW: P = P::VIEW_CHANNEL;
const SEND: P = P::SEND_MESSAGES;
const HISTORY: P = P::READ_MESSAGE_HISTORY;
const TEXT: ChannelType = ChannelType::GuildText;

/// What a plain member gets from @everyone in a fresh guild, roughly.
const EVERYDAY: P = VIEW
    .union(SEND)
    .union(HISTORY)
    .union(P::ADD_REACTIONS)
    .union(P::EMBED_LINKS)
    .union(P::ATTACH_FILES)
    .union(P::MENTION_EVERYONE)
    .union(P::SEND_TTS_MESSAGES)
    .union(P::CONNECT)
    .union(P::SPEAK)
    .union(P::CREATE_PUBLIC_THREADS)
    .union(P::SEND_MESSAGES_IN_THREADS);

fn member(everyone: P, roles: &[(RoleId, P)]) -> MemberPermissionContext<'_> {
    MemberPermissionContext {
        guild_id: GUILD,
        owner_id: OWNER,
        user_id: USER,
        everyone,
        roles,
        timed_out: false,
    }
}

fn timed_out(m: MemberPermissionContext<'_>) -> MemberPermissionContext<'_> {
    MemberPermissionContext {
        timed_out: true,
        ..m
    }
}

fn as_owner(m: MemberPermissionContext<'_>) -> MemberPermissionContext<'_> {
    MemberPermissionContext {
        user_id: OWNER,
        ..m
    }
}

fn everyone_ow(allow: P, deny: P) -> Overwrite {
    Overwrite {
        id: GUILD.cast(),
        kind: OverwriteType::Role,
        allow,
        deny,
    }
}

fn role_ow(role: RoleId, allow: P, deny: P) -> Overwrite {
    Overwrite {
        id: role.cast(),
        kind: OverwriteType::Role,
        allow,
        deny,
    }
}

fn member_ow(user: UserId, allow: P, deny: P) -> Overwrite {
    Overwrite {
        id: user.cast(),
        kind: OverwriteType::Member,
        allow,
        deny,
    }
}

const NONE: P = P::empty();

const ALL_KINDS: [ChannelType; 13] = [
    ChannelType::GuildText,
    ChannelType::Dm,
    ChannelType::GuildVoice,
    ChannelType::GroupDm,
    ChannelType::GuildCategory,
    ChannelType::GuildAnnouncement,
    ChannelType::AnnouncementThread,
    ChannelType::PublicThread,
    ChannelType::PrivateThread,
    ChannelType::GuildStageVoice,
    ChannelType::GuildDirectory,
    ChannelType::GuildForum,
    ChannelType::GuildMedia,
];

// ---- guild level ----

#[test]
fn base_is_everyone_or_all_roles() {
    let roles = [(ROLE_A, P::KICK_MEMBERS), (ROLE_B, P::MANAGE_ROLES | VIEW)];
    assert_eq!(
        guild_permissions(&member(VIEW | SEND, &roles)),
        VIEW | SEND | P::KICK_MEMBERS | P::MANAGE_ROLES
    );
    assert_eq!(guild_permissions(&member(VIEW, &[])), VIEW);
    assert_eq!(guild_permissions(&member(NONE, &[])), NONE);
}

#[test]
fn the_owner_has_everything() {
    let m = as_owner(member(NONE, &[]));
    assert_eq!(guild_permissions(&m), P::all());
    assert_eq!(guild_permissions(&timed_out(m)), P::all());
}

#[test]
fn administrator_through_a_role_or_everyone_is_everything() {
    let roles = [(ROLE_A, P::ADMINISTRATOR)];
    assert_eq!(guild_permissions(&member(NONE, &roles)), P::all());
    assert_eq!(guild_permissions(&member(P::ADMINISTRATOR, &[])), P::all());
    // Exempt from timeouts.
    assert_eq!(
        guild_permissions(&timed_out(member(NONE, &roles))),
        P::all()
    );
    assert_eq!(
        guild_permissions(&timed_out(member(P::ADMINISTRATOR, &[]))),
        P::all()
    );
}

#[test]
fn timed_out_members_keep_only_view_and_history() {
    let roles = [(ROLE_A, P::KICK_MEMBERS | P::MODERATE_MEMBERS)];
    let m = timed_out(member(EVERYDAY, &roles));
    assert_eq!(guild_permissions(&m), VIEW | HISTORY);
    // An intersection: what was not there is not granted.
    assert_eq!(
        guild_permissions(&timed_out(member(VIEW | SEND, &[]))),
        VIEW
    );
    assert_eq!(guild_permissions(&timed_out(member(SEND, &[]))), NONE);
}

#[test]
fn undefined_bits_are_dropped() {
    let odd = P::from_bits(1 << 47 | 1 << 60);
    let roles = [(ROLE_A, odd)];
    assert_eq!(guild_permissions(&member(VIEW, &roles)), VIEW);
    assert_eq!(channel_permissions(&member(VIEW, &roles), &[], TEXT), VIEW);
    let ow = [everyone_ow(odd, NONE)];
    assert_eq!(channel_permissions(&member(VIEW, &[]), &ow, TEXT), VIEW);
    assert_eq!(guild_permissions(&as_owner(member(odd, &[]))), P::all());
}

// ---- overwrites ----

#[test]
fn no_overwrites_keeps_the_base() {
    let m = member(EVERYDAY, &[]);
    assert_eq!(channel_permissions(&m, &[], TEXT), EVERYDAY);
}

#[test]
fn everyone_overwrite_removes_deny_then_adds_allow() {
    let m = member(EVERYDAY, &[]);
    let ow = [everyone_ow(P::MANAGE_MESSAGES, P::ADD_REACTIONS)];
    assert_eq!(
        channel_permissions(&m, &ow, TEXT),
        (EVERYDAY - P::ADD_REACTIONS) | P::MANAGE_MESSAGES
    );
    // A bit in both: allow wins within one overwrite.
    let ow = [everyone_ow(P::ADD_REACTIONS, P::ADD_REACTIONS)];
    assert_eq!(channel_permissions(&m, &ow, TEXT), EVERYDAY);
}

#[test]
fn role_allow_beats_everyone_deny() {
    let roles = [(ROLE_A, NONE)];
    let m = member(EVERYDAY, &roles);
    let ow = [
        everyone_ow(NONE, SEND),
        role_ow(ROLE_A, SEND, NONE), // listed after, but order in the list is irrelevant
    ];
    assert!(channel_permissions(&m, &ow, TEXT).contains(SEND));
    let reversed = [ow[1], ow[0]];
    assert!(channel_permissions(&m, &reversed, TEXT).contains(SEND));
}

#[test]
fn role_deny_beats_everyone_allow() {
    let roles = [(ROLE_A, NONE)];
    let m = member(VIEW, &roles);
    let ow = [
        role_ow(ROLE_A, NONE, P::ADD_REACTIONS),
        everyone_ow(P::ADD_REACTIONS, NONE),
    ];
    assert_eq!(channel_permissions(&m, &ow, TEXT), VIEW);
}

#[test]
fn role_overwrites_combine_before_applying() {
    // One role denies SEND, another allows it: combined deny removed, then combined allow added.
    let roles = [(ROLE_A, NONE), (ROLE_B, NONE)];
    let m = member(VIEW, &roles);
    let ow = [
        role_ow(ROLE_A, NONE, SEND | P::ADD_REACTIONS),
        role_ow(ROLE_B, SEND, NONE),
    ];
    assert_eq!(channel_permissions(&m, &ow, TEXT), VIEW | SEND);
    let ow = [ow[1], ow[0]];
    assert_eq!(channel_permissions(&m, &ow, TEXT), VIEW | SEND);
    // The deny also removes what the base gave.
    let m = member(VIEW | P::ADD_REACTIONS, &roles);
    assert_eq!(channel_permissions(&m, &ow, TEXT), VIEW | SEND);
}

#[test]
fn member_deny_beats_role_allow() {
    let roles = [(ROLE_A, NONE)];
    let m = member(VIEW, &roles);
    let ow = [
        member_ow(USER, NONE, SEND),
        role_ow(ROLE_A, SEND | P::ADD_REACTIONS, NONE),
    ];
    assert_eq!(channel_permissions(&m, &ow, TEXT), VIEW | P::ADD_REACTIONS);
}

#[test]
fn member_allow_beats_role_and_everyone_deny() {
    let roles = [(ROLE_A, NONE)];
    let m = member(EVERYDAY, &roles);
    let ow = [
        everyone_ow(NONE, VIEW | SEND),
        role_ow(ROLE_A, NONE, VIEW | SEND),
        member_ow(USER, VIEW | SEND, NONE),
    ];
    assert_eq!(channel_permissions(&m, &ow, TEXT), EVERYDAY);
    // Allow wins within the member overwrite too.
    let ow = [member_ow(USER, SEND, SEND)];
    assert_eq!(channel_permissions(&m, &ow, TEXT), EVERYDAY);
}

#[test]
fn overwrites_for_others_are_ignored() {
    let roles = [(ROLE_A, NONE)];
    let m = member(EVERYDAY, &roles);
    let ow = [
        role_ow(ROLE_C, NONE, SEND),
        member_ow(OTHER_USER, NONE, VIEW),
        // Ids with the wrong type: a member overwrite with the guild id is not @everyone's, a
        // role overwrite with the user id or a held role's id typed as member are not theirs.
        Overwrite {
            id: GUILD.cast(),
            kind: OverwriteType::Member,
            allow: NONE,
            deny: VIEW,
        },
        Overwrite {
            id: USER.cast(),
            kind: OverwriteType::Role,
            allow: NONE,
            deny: VIEW,
        },
        Overwrite {
            id: ROLE_A.cast(),
            kind: OverwriteType::Member,
            allow: NONE,
            deny: VIEW,
        },
    ];
    assert_eq!(channel_permissions(&m, &ow, TEXT), EVERYDAY);
}

#[test]
fn the_everyone_overwrite_is_not_a_role_overwrite_again() {
    // Even if the role list wrongly holds @everyone, its overwrite is applied once, at its step:
    // the role deny still beats the @everyone allow.
    let roles = [(GUILD.cast(), VIEW), (ROLE_A, NONE)];
    let m = member(VIEW, &roles);
    let ow = [everyone_ow(SEND, NONE), role_ow(ROLE_A, NONE, SEND)];
    assert_eq!(channel_permissions(&m, &ow, TEXT), VIEW);
}

#[test]
fn duplicate_overwrites_are_merged() {
    let roles = [(ROLE_A, NONE)];
    let m = member(VIEW | SEND, &roles);
    let ow = [
        everyone_ow(NONE, SEND),
        everyone_ow(P::ADD_REACTIONS, NONE),
        member_ow(USER, P::MANAGE_MESSAGES, NONE),
        member_ow(USER, NONE, P::ADD_REACTIONS),
    ];
    assert_eq!(
        channel_permissions(&m, &ow, TEXT),
        VIEW | P::MANAGE_MESSAGES
    );
}

#[test]
fn owner_and_administrator_ignore_overwrites() {
    let roles = [(ROLE_A, P::ADMINISTRATOR)];
    let ow = [
        everyone_ow(NONE, P::all()),
        role_ow(ROLE_A, NONE, P::all()),
        member_ow(USER, NONE, P::all()),
        member_ow(OWNER, NONE, P::all()),
    ];
    for kind in ALL_KINDS {
        let admin = member(NONE, &roles);
        assert_eq!(channel_permissions(&admin, &ow, kind), P::all());
        assert_eq!(channel_permissions(&timed_out(admin), &ow, kind), P::all());
        let admin = member(P::ADMINISTRATOR, &[]);
        assert_eq!(channel_permissions(&admin, &ow, kind), P::all());
        let owner = as_owner(member(NONE, &[]));
        assert_eq!(channel_permissions(&owner, &ow, kind), P::all());
        assert_eq!(channel_permissions(&timed_out(owner), &ow, kind), P::all());
    }
}

#[test]
fn administrator_granted_by_an_overwrite_does_nothing() {
    // ADMINISTRATOR is a base-level bit: an overwrite allowing it grants the bit, not everything.
    let m = member(VIEW, &[]);
    let ow = [everyone_ow(P::ADMINISTRATOR, NONE)];
    assert_eq!(channel_permissions(&m, &ow, TEXT), VIEW | P::ADMINISTRATOR);
    let ow = [everyone_ow(P::ADMINISTRATOR, VIEW)];
    assert_eq!(channel_permissions(&m, &ow, TEXT), NONE);
}

#[test]
fn overwrites_convert_from_the_wire_type() {
    let wire = PermissionOverwrite {
        id: ROLE_A.cast(),
        kind: OverwriteType::Role,
        allow: SEND,
        deny: VIEW,
    };
    assert_eq!(Overwrite::from(&wire), role_ow(ROLE_A, SEND, VIEW));
    assert_eq!(Overwrite::from(wire), role_ow(ROLE_A, SEND, VIEW));
}
