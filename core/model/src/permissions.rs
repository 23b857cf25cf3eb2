//! Permission bits (developers/topics/permissions.mdx): the `Permissions` bit set, serialised as
//! a decimal string. How a member's permissions are computed lives elsewhere.

flags! {
    /// A set of guild or channel permissions. On the wire a decimal string (`"2048"`); a string
    /// or an integer is accepted on input.
    pub struct Permissions: string {
        /// Create instant invites.
        const CREATE_INSTANT_INVITE = 1 << 0;
        /// Kick members.
        const KICK_MEMBERS = 1 << 1;
        /// Ban members.
        const BAN_MEMBERS = 1 << 2;
        /// Every permission, bypassing channel overwrites.
        const ADMINISTRATOR = 1 << 3;
        /// Manage and edit channels.
        const MANAGE_CHANNELS = 1 << 4;
        /// Manage and edit the guild.
        const MANAGE_GUILD = 1 << 5;
        /// Add new reactions to messages.
        const ADD_REACTIONS = 1 << 6;
        /// View audit logs.
        const VIEW_AUDIT_LOG = 1 << 7;
        /// Use priority speaker in a voice channel.
        const PRIORITY_SPEAKER = 1 << 8;
        /// Go live.
        const STREAM = 1 << 9;
        /// View a channel: read its messages, join it if it is a voice channel.
        const VIEW_CHANNEL = 1 << 10;
        /// Send messages in a channel and create forum posts (not messages in threads).
        const SEND_MESSAGES = 1 << 11;
        /// Send `/tts` messages.
        const SEND_TTS_MESSAGES = 1 << 12;
        /// Delete other users' messages.
        const MANAGE_MESSAGES = 1 << 13;
        /// Links sent are auto-embedded.
        const EMBED_LINKS = 1 << 14;
        /// Upload images and files.
        const ATTACH_FILES = 1 << 15;
        /// Read message history.
        const READ_MESSAGE_HISTORY = 1 << 16;
        /// Use `@everyone`, `@here` and mention every role.
        const MENTION_EVERYONE = 1 << 17;
        /// Use custom emojis from other guilds.
        const USE_EXTERNAL_EMOJIS = 1 << 18;
        /// View guild insights.
        const VIEW_GUILD_INSIGHTS = 1 << 19;
        /// Join a voice channel.
        const CONNECT = 1 << 20;
        /// Speak in a voice channel.
        const SPEAK = 1 << 21;
        /// Mute members in a voice channel.
        const MUTE_MEMBERS = 1 << 22;
        /// Deafen members in a voice channel.
        const DEAFEN_MEMBERS = 1 << 23;
        /// Move members between voice channels.
        const MOVE_MEMBERS = 1 << 24;
        /// Use voice activity detection.
        const USE_VAD = 1 << 25;
        /// Change one's own nickname.
        const CHANGE_NICKNAME = 1 << 26;
        /// Change other users' nicknames.
        const MANAGE_NICKNAMES = 1 << 27;
        /// Manage and edit roles (and channel overwrites).
        const MANAGE_ROLES = 1 << 28;
        /// Manage and edit webhooks.
        const MANAGE_WEBHOOKS = 1 << 29;
        /// Edit and delete emojis, stickers and soundboard sounds of all users.
        const MANAGE_GUILD_EXPRESSIONS = 1 << 30;
        /// Use application commands.
        const USE_APPLICATION_COMMANDS = 1 << 31;
        /// Request to speak in stage channels.
        const REQUEST_TO_SPEAK = 1 << 32;
        /// Edit and delete scheduled events of all users.
        const MANAGE_EVENTS = 1 << 33;
        /// Delete and archive threads, view all private threads.
        const MANAGE_THREADS = 1 << 34;
        /// Create public and announcement threads.
        const CREATE_PUBLIC_THREADS = 1 << 35;
        /// Create private threads.
        const CREATE_PRIVATE_THREADS = 1 << 36;
        /// Use custom stickers from other guilds.
        const USE_EXTERNAL_STICKERS = 1 << 37;
        /// Send messages in threads.
        const SEND_MESSAGES_IN_THREADS = 1 << 38;
        /// Use activities.
        const USE_EMBEDDED_ACTIVITIES = 1 << 39;
        /// Time out members.
        const MODERATE_MEMBERS = 1 << 40;
        /// View role subscription insights.
        const VIEW_CREATOR_MONETIZATION_ANALYTICS = 1 << 41;
        /// Use the soundboard in a voice channel.
        const USE_SOUNDBOARD = 1 << 42;
        /// Create emojis, stickers and soundboard sounds, and edit or delete one's own.
        const CREATE_GUILD_EXPRESSIONS = 1 << 43;
        /// Create scheduled events, and edit or delete one's own.
        const CREATE_EVENTS = 1 << 44;
        /// Use custom soundboard sounds from other guilds.
        const USE_EXTERNAL_SOUNDS = 1 << 45;
        /// Send voice messages.
        const SEND_VOICE_MESSAGES = 1 << 46;
        /// Set a voice channel's status.
        const SET_VOICE_CHANNEL_STATUS = 1 << 48;
        /// Send polls.
        const SEND_POLLS = 1 << 49;
        /// Let user-installed apps send public responses.
        const USE_EXTERNAL_APPS = 1 << 50;
        /// Pin and unpin messages.
        const PIN_MESSAGES = 1 << 51;
        /// Bypass slowmode.
        const BYPASS_SLOWMODE = 1 << 52;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bits_match_the_docs() {
        assert_eq!(Permissions::CREATE_INSTANT_INVITE.bits(), 1);
        assert_eq!(Permissions::SEND_MESSAGES.bits(), 0x800);
        assert_eq!(Permissions::ADD_REACTIONS.bits(), 0x40);
        assert_eq!(Permissions::USE_APPLICATION_COMMANDS.bits(), 0x8000_0000);
        assert_eq!(Permissions::SEND_VOICE_MESSAGES.bits(), 1 << 46);
        assert_eq!(Permissions::SET_VOICE_CHANNEL_STATUS.bits(), 1 << 48);
        assert_eq!(Permissions::BYPASS_SLOWMODE.bits(), 0x0010_0000_0000_0000);
        assert_eq!(Permissions::NAMED.len(), 52);
        // Bits 0..=46 and 48..=52: bit 47 is unused.
        assert_eq!(Permissions::all().bits(), ((1u64 << 53) - 1) & !(1 << 47));
        let mut seen = 0u64;
        for (name, p) in Permissions::NAMED {
            assert_eq!(p.bits().count_ones(), 1, "{name}");
            assert_eq!(seen & p.bits(), 0, "{name} reuses a bit");
            seen |= p.bits();
            assert_eq!(Permissions::from_name(name), Some(*p));
        }
    }

    #[test]
    fn serialises_as_a_decimal_string_and_accepts_integers() {
        let p = Permissions::SEND_MESSAGES | Permissions::ADD_REACTIONS;
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"2112\"");
        assert_eq!(serde_json::from_str::<Permissions>("\"2112\"").unwrap(), p);
        assert_eq!(serde_json::from_str::<Permissions>("2112").unwrap(), p);
        // Undefined bits are kept so that newer clients' values round-trip.
        let odd: Permissions = serde_json::from_str("\"140737488355328\"").unwrap();
        assert_eq!(odd.undefined_bits(), 1 << 47);
        assert_eq!(
            Permissions::from_bits_truncate(odd.bits()),
            Permissions::empty()
        );
        for bad in [
            "\"\"",
            "\"-1\"",
            "\"1.5\"",
            "\"0x10\"",
            "-1",
            "1.5",
            "null",
            "\"99999999999999999999\"",
        ] {
            assert!(
                serde_json::from_str::<Permissions>(bad).is_err(),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn set_operations() {
        let mut p = Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES;
        assert!(p.contains(Permissions::VIEW_CHANNEL));
        assert!(!p.contains(Permissions::VIEW_CHANNEL | Permissions::KICK_MEMBERS));
        assert!(p.intersects(Permissions::VIEW_CHANNEL | Permissions::KICK_MEMBERS));
        p.insert(Permissions::KICK_MEMBERS);
        p.remove(Permissions::SEND_MESSAGES);
        assert_eq!(p.names(), vec!["KICK_MEMBERS", "VIEW_CHANNEL"]);
        assert_eq!(p & !Permissions::KICK_MEMBERS, Permissions::VIEW_CHANNEL);
        assert_eq!(!Permissions::empty(), Permissions::all());
        assert_eq!(!Permissions::all(), Permissions::empty());
        assert_eq!(
            format!("{:?}", Permissions::VIEW_CHANNEL),
            "Permissions(VIEW_CHANNEL)"
        );
        // The docs' example: 0x40 | 0x800 == 2112.
        assert_eq!(
            (Permissions::ADD_REACTIONS | Permissions::SEND_MESSAGES).bits(),
            2112
        );
    }

    proptest! {
        #[test]
        fn round_trips_any_bits(bits in any::<u64>()) {
            let p = Permissions::from_bits(bits);
            let json = serde_json::to_string(&p).unwrap();
            prop_assert_eq!(&json, &format!("\"{bits}\""));
            prop_assert_eq!(serde_json::from_str::<Permissions>(&json).unwrap(), p);
            prop_assert_eq!(serde_json::from_str::<Permissions>(&bits.to_string()).unwrap(), p);
            prop_assert_eq!(Permissions::from_bits_truncate(bits).undefined_bits(), 0);
            let named: Permissions = p.names().iter().filter_map(|n| Permissions::from_name(n)).collect();
            prop_assert_eq!(named, Permissions::from_bits_truncate(bits));
        }
    }
}
