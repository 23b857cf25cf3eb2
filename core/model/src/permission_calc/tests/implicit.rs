//! Hand-written cases for implicit permissions, timeouts in channels, and threads.

use super::*;

// ---- implicit permissions ----

#[test]
fn without_view_channel_nothing_is_left() {
    let roles = [(ROLE_A, P::MANAGE_CHANNELS | P::MANAGE_ROLES)];
    let m = member(EVERYDAY, &roles);
    for kind in ALL_KINDS {
        let ow = [everyone_ow(NONE, VIEW)];
        assert_eq!(channel_permissions(&m, &ow, kind), NONE, "{kind:?}");
        let ow = [member_ow(USER, P::all() - VIEW, VIEW)];
        assert_eq!(channel_permissions(&m, &ow, kind), NONE, "{kind:?}");
    }
    // No VIEW at base, none granted: nothing either.
    let m = member(EVERYDAY - VIEW, &roles);
    assert_eq!(channel_permissions(&m, &[], TEXT), NONE);
    // VIEW granted by an overwrite makes the rest count.
    let ow = [role_ow(ROLE_A, VIEW, NONE)];
    assert_eq!(
        channel_permissions(&m, &ow, TEXT),
        EVERYDAY | P::MANAGE_CHANNELS | P::MANAGE_ROLES
    );
}

#[test]
fn without_send_messages_the_sending_extras_go() {
    let m = member(EVERYDAY, &[]);
    let ow = [everyone_ow(NONE, SEND)];
    let expected = EVERYDAY
        - SEND
        - P::MENTION_EVERYONE
        - P::SEND_TTS_MESSAGES
        - P::ATTACH_FILES
        - P::EMBED_LINKS;
    // The rest stays: reactions, history, thread bits...
    assert!(expected.contains(P::ADD_REACTIONS | HISTORY | P::SEND_MESSAGES_IN_THREADS));
    for kind in [
        ChannelType::GuildText,
        ChannelType::GuildAnnouncement,
        ChannelType::GuildVoice,
        ChannelType::GuildStageVoice,
        ChannelType::GuildForum,
        ChannelType::GuildMedia,
    ] {
        assert_eq!(channel_permissions(&m, &ow, kind), expected, "{kind:?}");
    }
    // Categories and directories carry no messages: nothing implied.
    for kind in [ChannelType::GuildCategory, ChannelType::GuildDirectory] {
        assert_eq!(
            channel_permissions(&m, &ow, kind),
            EVERYDAY - SEND,
            "{kind:?}"
        );
    }
    // Only those four go; bits outside the list survive.
    let m = member(VIEW | P::SEND_VOICE_MESSAGES | P::SEND_POLLS, &[]);
    assert_eq!(
        channel_permissions(&m, &[], TEXT),
        VIEW | P::SEND_VOICE_MESSAGES | P::SEND_POLLS
    );
}

#[test]
fn without_connect_voice_channels_lose_manage_channels() {
    let roles = [(ROLE_A, P::MANAGE_CHANNELS | P::MANAGE_ROLES)];
    let m = member(VIEW | SEND | P::CONNECT, &roles);
    let ow = [everyone_ow(NONE, P::CONNECT)];
    for kind in [ChannelType::GuildVoice, ChannelType::GuildStageVoice] {
        assert_eq!(
            channel_permissions(&m, &ow, kind),
            VIEW | SEND | P::MANAGE_ROLES,
            "{kind:?}"
        );
        assert_eq!(
            channel_permissions(&m, &[], kind),
            VIEW | SEND | P::CONNECT | P::MANAGE_CHANNELS | P::MANAGE_ROLES,
            "{kind:?}"
        );
    }
    // Not a voice rule elsewhere.
    for kind in [TEXT, ChannelType::GuildCategory, ChannelType::GuildForum] {
        assert_eq!(
            channel_permissions(&m, &ow, kind),
            VIEW | SEND | P::MANAGE_CHANNELS | P::MANAGE_ROLES,
            "{kind:?}"
        );
    }
}

// ---- timeouts ----

#[test]
fn timed_out_members_keep_view_and_history_in_channels() {
    let roles = [(ROLE_A, NONE)];
    let m = timed_out(member(EVERYDAY, &roles));
    let ow = [role_ow(ROLE_A, P::MANAGE_MESSAGES | P::SPEAK, NONE)];
    for kind in ALL_KINDS {
        assert_eq!(
            channel_permissions(&m, &ow, kind),
            VIEW | HISTORY,
            "{kind:?}"
        );
    }
    // Hidden channels stay hidden.
    let ow = [everyone_ow(NONE, VIEW)];
    assert_eq!(channel_permissions(&m, &ow, TEXT), NONE);
    // History denied: only VIEW.
    let ow = [member_ow(USER, NONE, HISTORY)];
    assert_eq!(channel_permissions(&m, &ow, TEXT), VIEW);
}

// ---- threads ----

#[test]
fn thread_sending_follows_send_messages_in_threads() {
    let m = member(EVERYDAY, &[]);
    // Announcement-style: no SEND in the parent, SEND_MESSAGES_IN_THREADS kept.
    let ow = [everyone_ow(NONE, SEND)];
    let parent = channel_permissions(&m, &ow, ChannelType::GuildAnnouncement);
    assert!(!parent.intersects(SEND | P::ATTACH_FILES | P::EMBED_LINKS));
    let thread = thread_permissions(
        &m,
        &ow,
        ChannelType::GuildAnnouncement,
        ChannelType::AnnouncementThread,
    );
    // The parent's SEND plays no part: everything it implied is back.
    assert_eq!(thread, EVERYDAY);

    // SEND in the parent without SEND_MESSAGES_IN_THREADS: cannot send in threads.
    let ow = [everyone_ow(NONE, P::SEND_MESSAGES_IN_THREADS)];
    let thread = thread_permissions(&m, &ow, TEXT, ChannelType::PublicThread);
    assert_eq!(
        thread,
        EVERYDAY
            - SEND
            - P::SEND_MESSAGES_IN_THREADS
            - P::MENTION_EVERYONE
            - P::SEND_TTS_MESSAGES
            - P::ATTACH_FILES
            - P::EMBED_LINKS
    );
    assert!(channel_permissions(&m, &ow, TEXT).contains(SEND | P::ATTACH_FILES));
}

#[test]
fn threads_inherit_the_parent_overwrites() {
    let roles = [(ROLE_A, NONE)];
    let m = member(EVERYDAY, &roles);
    let ow = [
        everyone_ow(NONE, P::ADD_REACTIONS),
        role_ow(ROLE_A, P::MANAGE_THREADS, NONE),
        member_ow(USER, NONE, HISTORY),
    ];
    let expected = (EVERYDAY - P::ADD_REACTIONS - HISTORY) | P::MANAGE_THREADS;
    for (parent, thread) in [
        (TEXT, ChannelType::PublicThread),
        (TEXT, ChannelType::PrivateThread),
        (
            ChannelType::GuildAnnouncement,
            ChannelType::AnnouncementThread,
        ),
        (ChannelType::GuildForum, ChannelType::PublicThread),
        (ChannelType::GuildMedia, ChannelType::PublicThread),
    ] {
        assert_eq!(
            thread_permissions(&m, &ow, parent, thread),
            expected,
            "{parent:?} {thread:?}"
        );
        // With SEND and SEND_MESSAGES_IN_THREADS both present the thread equals the parent.
        assert_eq!(
            thread_permissions(&m, &ow, parent, thread),
            channel_permissions(&m, &ow, parent)
        );
    }
}

#[test]
fn the_two_send_bits_are_equal_in_threads() {
    let m = member(VIEW | SEND, &[]);
    assert_eq!(
        thread_permissions(&m, &[], TEXT, ChannelType::PublicThread),
        VIEW
    );
    let m = member(VIEW | P::SEND_MESSAGES_IN_THREADS, &[]);
    assert_eq!(
        thread_permissions(&m, &[], TEXT, ChannelType::PublicThread),
        VIEW | SEND | P::SEND_MESSAGES_IN_THREADS
    );
}

#[test]
fn threads_of_hidden_channels_are_hidden() {
    let m = member(EVERYDAY, &[]);
    let ow = [everyone_ow(NONE, VIEW)];
    for thread in [
        ChannelType::PublicThread,
        ChannelType::PrivateThread,
        ChannelType::AnnouncementThread,
    ] {
        assert_eq!(thread_permissions(&m, &ow, TEXT, thread), NONE);
    }
}

#[test]
fn timeouts_owner_and_administrator_in_threads() {
    let roles = [(ROLE_A, NONE)];
    let m = member(EVERYDAY, &roles);
    let ow = [role_ow(ROLE_A, P::MANAGE_THREADS, NONE)];
    let thread = ChannelType::PublicThread;
    assert_eq!(
        thread_permissions(&timed_out(m), &ow, TEXT, thread),
        VIEW | HISTORY
    );
    let deny_all = [everyone_ow(NONE, P::all())];
    let admin = [(ROLE_A, P::ADMINISTRATOR)];
    let admin = timed_out(member(NONE, &admin));
    assert_eq!(
        thread_permissions(&admin, &deny_all, TEXT, thread),
        P::all()
    );
    let owner = timed_out(as_owner(member(NONE, &[])));
    assert_eq!(
        thread_permissions(&owner, &deny_all, TEXT, thread),
        P::all()
    );
}
