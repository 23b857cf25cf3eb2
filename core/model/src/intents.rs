//! Gateway intents (developers/events/gateway.mdx, "List of Intents"): the `Intents` bit set a
//! client sends in Identify, serialised as a JSON integer.

flags! {
    /// The event groups a gateway session subscribes to.
    pub struct Intents: integer {
        /// Guild create/update/delete, roles, channels, threads, stage instances.
        const GUILDS = 1 << 0;
        /// Member add/update/remove and thread member updates (privileged).
        const GUILD_MEMBERS = 1 << 1;
        /// Audit log entries, bans.
        const GUILD_MODERATION = 1 << 2;
        /// Emojis, stickers, soundboard sounds.
        const GUILD_EXPRESSIONS = 1 << 3;
        /// Integrations.
        const GUILD_INTEGRATIONS = 1 << 4;
        /// Webhooks.
        const GUILD_WEBHOOKS = 1 << 5;
        /// Invite create/delete.
        const GUILD_INVITES = 1 << 6;
        /// Voice states.
        const GUILD_VOICE_STATES = 1 << 7;
        /// Presence updates (privileged).
        const GUILD_PRESENCES = 1 << 8;
        /// Messages in guilds.
        const GUILD_MESSAGES = 1 << 9;
        /// Reactions in guilds.
        const GUILD_MESSAGE_REACTIONS = 1 << 10;
        /// Typing in guilds.
        const GUILD_MESSAGE_TYPING = 1 << 11;
        /// Direct messages.
        const DIRECT_MESSAGES = 1 << 12;
        /// Reactions in direct messages.
        const DIRECT_MESSAGE_REACTIONS = 1 << 13;
        /// Typing in direct messages.
        const DIRECT_MESSAGE_TYPING = 1 << 14;
        /// Message content, embeds, attachments, components and polls (privileged).
        const MESSAGE_CONTENT = 1 << 15;
        /// Scheduled events.
        const GUILD_SCHEDULED_EVENTS = 1 << 16;
        /// Auto moderation rule changes.
        const AUTO_MODERATION_CONFIGURATION = 1 << 20;
        /// Auto moderation actions.
        const AUTO_MODERATION_EXECUTION = 1 << 21;
        /// Poll votes in guilds.
        const GUILD_MESSAGE_POLLS = 1 << 24;
        /// Poll votes in direct messages.
        const DIRECT_MESSAGE_POLLS = 1 << 25;
    }
}

impl Intents {
    /// Every defined intent: 53608447, what discord.py's `Intents.all()` sends.
    pub const ALL: Intents = Intents::all();

    /// The intents an application must be allowed before it may ask for them (else close 4014).
    pub const PRIVILEGED: Intents = Intents::GUILD_MEMBERS
        .union(Intents::GUILD_PRESENCES)
        .union(Intents::MESSAGE_CONTENT);

    /// Whether a raw Identify value sets a bit that is no intent (the gateway closes with 4013).
    pub const fn has_undefined_bits(raw: u64) -> bool {
        raw & !Self::ALL.bits() != 0
    }

    /// The privileged intents in this set.
    pub const fn privileged(self) -> Intents {
        self.intersection(Self::PRIVILEGED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn all_matches_the_known_value() {
        assert_eq!(Intents::ALL.bits(), 53_608_447);
        assert_eq!(Intents::NAMED.len(), 21);
        assert_eq!(Intents::PRIVILEGED.bits(), (1 << 1) | (1 << 8) | (1 << 15));
        assert!(!Intents::has_undefined_bits(53_608_447));
        assert!(Intents::has_undefined_bits(1 << 17));
        assert!(Intents::has_undefined_bits(1 << 63));
        assert_eq!(
            (Intents::GUILDS | Intents::MESSAGE_CONTENT).privileged(),
            Intents::MESSAGE_CONTENT
        );
    }

    #[test]
    fn serialises_as_an_integer() {
        let i = Intents::GUILDS | Intents::GUILD_MESSAGES;
        assert_eq!(serde_json::to_string(&i).unwrap(), "513");
        assert_eq!(serde_json::from_str::<Intents>("513").unwrap(), i);
        assert!(serde_json::from_str::<Intents>("\"513\"").is_err());
        assert!(serde_json::from_str::<Intents>("-1").is_err());
    }

    proptest! {
        #[test]
        fn round_trips_any_bits(bits in any::<u64>()) {
            let i = Intents::from_bits(bits);
            let json = serde_json::to_string(&i).unwrap();
            prop_assert_eq!(&json, &bits.to_string());
            prop_assert_eq!(serde_json::from_str::<Intents>(&json).unwrap(), i);
            prop_assert_eq!(Intents::has_undefined_bits(bits), i.undefined_bits() != 0);
            prop_assert!(!Intents::has_undefined_bits(bits & Intents::ALL.bits()));
        }
    }
}
