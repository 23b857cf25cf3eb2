//! Property tests: the computation against a naive bit-by-bit reading of Discord's doc, plus
//! invariants, over random guilds, roles and overwrites.
//!
//! The reference decides each of the 64 bits on its own, walking the doc's eight-step list
//! ("Permission Overwrites") as a yes/no state per bit, then the implicit rules, the thread rule
//! and the timeout as per-bit conditions. Ids come from a tiny pool so that the guild, the owner,
//! the member, its roles and the overwrite targets collide often.

use super::*;
use proptest::prelude::*;

/// The inputs as plain numbers, the way the reference reads them.
#[derive(Debug, Clone)]
struct Case {
    guild: u64,
    owner: u64,
    user: u64,
    everyone: u64,
    roles: Vec<(u64, u64)>,
    /// (id, names a role, allow, deny).
    overwrites: Vec<(u64, bool, u64, u64)>,
    timed_out: bool,
}

impl Case {
    fn roles(&self) -> Vec<(RoleId, Permissions)> {
        self.roles
            .iter()
            .map(|&(id, p)| (RoleId::new(id), Permissions::from_bits(p)))
            .collect()
    }

    fn context<'a>(&self, roles: &'a [(RoleId, Permissions)]) -> MemberPermissionContext<'a> {
        MemberPermissionContext {
            guild_id: GuildId::new(self.guild),
            owner_id: UserId::new(self.owner),
            user_id: UserId::new(self.user),
            everyone: Permissions::from_bits(self.everyone),
            roles,
            timed_out: self.timed_out,
        }
    }

    fn overwrites(&self) -> Vec<Overwrite> {
        self.overwrites
            .iter()
            .map(|&(id, is_role, allow, deny)| Overwrite {
                id: GenericId::new(id),
                kind: if is_role {
                    OverwriteType::Role
                } else {
                    OverwriteType::Member
                },
                allow: Permissions::from_bits(allow),
                deny: Permissions::from_bits(deny),
            })
            .collect()
    }
}

// ---- the reference ----

fn bit(x: u64, b: u32) -> bool {
    (x >> b) & 1 == 1
}

const ADMINISTRATOR: u32 = 3;
const MANAGE_CHANNELS: u32 = 4;
const VIEW_CHANNEL: u32 = 10;
const SEND_MESSAGES: u32 = 11;
const SEND_TTS_MESSAGES: u32 = 12;
const EMBED_LINKS: u32 = 14;
const ATTACH_FILES: u32 = 15;
const READ_MESSAGE_HISTORY: u32 = 16;
const MENTION_EVERYONE: u32 = 17;
const CONNECT: u32 = 20;
const SEND_MESSAGES_IN_THREADS: u32 = 38;

/// Whether bit `b` is a permission Discord defines: 0 to 52 except 47.
fn defined(b: u32) -> bool {
    b <= 52 && b != 47
}

/// Steps 1 and 2: @everyone, then any of the member's roles.
fn base_bit(c: &Case, b: u32) -> bool {
    bit(c.everyone, b) || c.roles.iter().any(|r| bit(r.1, b))
}

/// Steps 3 to 8, for one bit.
fn overwritten_bit(c: &Case, b: u32) -> bool {
    let is_everyone = |o: &&(u64, bool, u64, u64)| o.1 && o.0 == c.guild;
    let is_my_role =
        |o: &&(u64, bool, u64, u64)| o.1 && o.0 != c.guild && c.roles.iter().any(|r| r.0 == o.0);
    let is_me = |o: &&(u64, bool, u64, u64)| !o.1 && o.0 == c.user;
    let denies = |o: &&(u64, bool, u64, u64)| bit(o.3, b);
    let allows = |o: &&(u64, bool, u64, u64)| bit(o.2, b);
    let ows = &c.overwrites;

    let mut state = base_bit(c, b);
    if ows.iter().filter(is_everyone).any(|o| denies(&o)) {
        state = false;
    }
    if ows.iter().filter(is_everyone).any(|o| allows(&o)) {
        state = true;
    }
    if ows.iter().filter(is_my_role).any(|o| denies(&o)) {
        state = false;
    }
    if ows.iter().filter(is_my_role).any(|o| allows(&o)) {
        state = true;
    }
    if ows.iter().filter(is_me).any(|o| denies(&o)) {
        state = false;
    }
    if ows.iter().filter(is_me).any(|o| allows(&o)) {
        state = true;
    }
    state
}

/// Channel types by wire value.
fn carries_messages(kind: ChannelType) -> bool {
    ![4u8, 14].contains(&(kind as u8))
}

fn voice(kind: ChannelType) -> bool {
    [2u8, 13].contains(&(kind as u8))
}

/// The whole computation, one bit at a time. `thread` is `Some(thread kind)` when `kind` is the
/// parent of the thread asked about.
fn reference(c: &Case, kind: ChannelType, thread: Option<ChannelType>) -> u64 {
    let everything = c.owner == c.user || base_bit(c, ADMINISTRATOR);
    // The bit as the channel (or thread) sees it before implicit rules.
    let has = |b: u32| {
        if thread.is_some() && b == SEND_MESSAGES {
            overwritten_bit(c, SEND_MESSAGES_IN_THREADS)
        } else {
            overwritten_bit(c, b)
        }
    };
    let text_kind = thread.unwrap_or(kind);
    let mut out = 0u64;
    for b in 0..64 {
        let keep = defined(b)
            && (everything
                || (has(b)
                    && has(VIEW_CHANNEL)
                    && !([
                        MENTION_EVERYONE,
                        SEND_TTS_MESSAGES,
                        ATTACH_FILES,
                        EMBED_LINKS,
                    ]
                    .contains(&b)
                        && carries_messages(text_kind)
                        && !has(SEND_MESSAGES))
                    && !(b == MANAGE_CHANNELS && voice(kind) && !has(CONNECT))
                    && (!c.timed_out || b == VIEW_CHANNEL || b == READ_MESSAGE_HISTORY)));
        if keep {
            out |= 1 << b;
        }
    }
    out
}

/// Guild level: no overwrites, no implicit rules.
fn reference_guild(c: &Case) -> u64 {
    let everything = c.owner == c.user || base_bit(c, ADMINISTRATOR);
    (0..64)
        .filter(|&b| {
            defined(b)
                && (everything
                    || (base_bit(c, b)
                        && (!c.timed_out || b == VIEW_CHANNEL || b == READ_MESSAGE_HISTORY)))
        })
        .fold(0, |acc, b| acc | 1 << b)
}

// ---- generators ----

/// A permission set: often empty, sometimes dense, sometimes sparse; ADMINISTRATOR is rare so
/// that most cases exercise the overwrites. Undefined bits occur too.
fn permissions() -> impl Strategy<Value = u64> {
    let raw = prop_oneof![
        1 => Just(0u64),
        2 => any::<u64>(),
        2 => (any::<u64>(), any::<u64>()).prop_map(|(a, b)| a & b),
        1 => (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(a, b, c)| a & b & c),
    ];
    (raw, prop::bool::weighted(0.03)).prop_map(|(p, admin)| {
        let admin_bit = 1u64 << ADMINISTRATOR;
        if admin { p | admin_bit } else { p & !admin_bit }
    })
}

/// Ids from a pool of six, so that everything collides with everything.
fn id() -> impl Strategy<Value = u64> {
    1u64..=6
}

fn case() -> impl Strategy<Value = Case> {
    (
        id(),
        id(),
        id(),
        permissions(),
        prop::collection::vec((id(), permissions()), 0..5),
        prop::collection::vec((id(), any::<bool>(), permissions(), permissions()), 0..9),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(guild, owner, user, everyone, roles, overwrites, timed_out)| Case {
                guild,
                owner,
                user,
                everyone,
                roles,
                overwrites,
                timed_out,
            },
        )
}

fn channel_kind() -> impl Strategy<Value = ChannelType> {
    prop::sample::select(vec![
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
    ])
}

fn thread_kind() -> impl Strategy<Value = ChannelType> {
    prop::sample::select(vec![
        ChannelType::AnnouncementThread,
        ChannelType::PublicThread,
        ChannelType::PrivateThread,
    ])
}

fn is_everything(c: &Case) -> bool {
    c.owner == c.user || base_bit(c, ADMINISTRATOR)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn guild_matches_the_reference(c in case()) {
        let roles = c.roles();
        let got = guild_permissions(&c.context(&roles));
        prop_assert_eq!(got.bits(), reference_guild(&c), "{:?}", got);
    }

    #[test]
    fn channel_matches_the_reference(c in case(), kind in channel_kind()) {
        let roles = c.roles();
        let got = channel_permissions(&c.context(&roles), &c.overwrites(), kind);
        let want = reference(&c, kind, None);
        prop_assert_eq!(got.bits(), want, "got {:?}, want {:?}", got, Permissions::from_bits(want));
    }

    #[test]
    fn thread_matches_the_reference(c in case(), parent in channel_kind(), thread in thread_kind()) {
        let roles = c.roles();
        let got = thread_permissions(&c.context(&roles), &c.overwrites(), parent, thread);
        let want = reference(&c, parent, Some(thread));
        prop_assert_eq!(got.bits(), want, "got {:?}, want {:?}", got, Permissions::from_bits(want));
    }

    #[test]
    fn order_of_roles_and_overwrites_is_irrelevant(
        (c, shuffled) in case().prop_flat_map(|c| {
            let roles = Just(c.roles.clone()).prop_shuffle();
            let overwrites = Just(c.overwrites.clone()).prop_shuffle();
            (Just(c), roles, overwrites).prop_map(|(c, roles, overwrites)| {
                let shuffled = Case { roles, overwrites, ..c.clone() };
                (c, shuffled)
            })
        }),
        kind in channel_kind(),
    ) {
        let (r1, r2) = (c.roles(), shuffled.roles());
        let (m1, m2) = (c.context(&r1), shuffled.context(&r2));
        prop_assert_eq!(guild_permissions(&m1), guild_permissions(&m2));
        prop_assert_eq!(
            channel_permissions(&m1, &c.overwrites(), kind),
            channel_permissions(&m2, &shuffled.overwrites(), kind)
        );
        prop_assert_eq!(
            thread_permissions(&m1, &c.overwrites(), kind, ChannelType::PublicThread),
            thread_permissions(&m2, &shuffled.overwrites(), kind, ChannelType::PublicThread)
        );
    }

    #[test]
    fn invariants(c in case(), kind in channel_kind(), thread in thread_kind()) {
        let roles = c.roles();
        let m = c.context(&roles);
        let ows = c.overwrites();
        let guild = guild_permissions(&m);
        let channel = channel_permissions(&m, &ows, kind);
        let in_thread = thread_permissions(&m, &ows, kind, thread);
        for p in [guild, channel, in_thread] {
            prop_assert_eq!(p.undefined_bits(), 0);
            if is_everything(&c) {
                prop_assert_eq!(p, Permissions::all());
            } else if c.timed_out {
                prop_assert!(KEPT_WHEN_TIMED_OUT.contains(p));
            }
        }
        if !is_everything(&c) {
            for (p, where_) in [(channel, kind), (in_thread, thread)] {
                // Nothing without VIEW_CHANNEL; the thread's VIEW_CHANNEL is the parent's.
                prop_assert!(p.is_empty() || p.contains(Permissions::VIEW_CHANNEL));
                if carries_messages(where_) && !p.contains(Permissions::SEND_MESSAGES) {
                    prop_assert!(!p.intersects(NEED_SEND_MESSAGES));
                }
            }
            prop_assert_eq!(
                in_thread.contains(Permissions::SEND_MESSAGES),
                in_thread.contains(Permissions::SEND_MESSAGES_IN_THREADS)
            );
            prop_assert_eq!(
                in_thread.contains(Permissions::VIEW_CHANNEL),
                channel.contains(Permissions::VIEW_CHANNEL)
            );
            // Without overwrites a channel only takes away from the guild level.
            let plain = channel_permissions(&m, &[], kind);
            prop_assert!(guild.contains(plain));
        }
    }
}
