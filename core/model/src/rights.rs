//! Instance rights: a bitfield on every account that says what it may do on this instance,
//! independent of any guild. OPERATOR implies every right.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A set of instance rights.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rights(u64);

macro_rules! rights {
    ($($(#[$doc:meta])* $name:ident = $bit:expr;)*) => {
        impl Rights {
            $($(#[$doc])* pub const $name: Rights = Rights(1 << $bit);)*

            /// Every defined right with its name, lowest bit first.
            pub const NAMED: &'static [(&'static str, Rights)] = &[$((stringify!($name), Rights::$name)),*];
        }
    };
}

rights! {
    /// Everything, including rights added later.
    OPERATOR = 0;
    /// Edit, disable and delete other accounts; grant rights.
    MANAGE_USERS = 1;
    /// Moderate and delete any guild on the instance.
    MANAGE_GUILDS = 2;
    /// Delete any message on the instance.
    MANAGE_MESSAGES = 3;
    /// Edit and delete any application.
    MANAGE_APPLICATIONS = 4;
    /// Not subject to rate limits.
    BYPASS_RATE_LIMITS = 5;
    /// Create applications and bots.
    CREATE_APPLICATIONS = 6;
    /// Create guilds.
    CREATE_GUILDS = 7;
    /// Join guilds through invites.
    JOIN_GUILDS = 8;
    /// Open direct messages.
    CREATE_DMS = 9;
    /// Create group direct messages.
    CREATE_GROUP_DMS = 10;
    /// Send messages.
    SEND_MESSAGES = 11;
    /// Add reactions.
    ADD_REACTIONS = 12;
    /// Create invites.
    CREATE_INVITES = 13;
    /// Create webhooks.
    CREATE_WEBHOOKS = 14;
    /// Join voice channels.
    USE_VOICE = 15;
    /// Send video and screen shares.
    USE_VIDEO = 16;
    /// Change one's own username, avatar and profile.
    EDIT_OWN_PROFILE = 17;
    /// Delete or disable one's own account.
    DELETE_OWN_ACCOUNT = 18;
    /// Read instance-wide statistics.
    VIEW_INSTANCE_STATS = 19;
}

impl Rights {
    /// No rights.
    pub const NONE: Rights = Rights(0);

    /// Builds a set from raw bits (undefined bits are kept, so newer rights survive a round trip).
    pub const fn from_bits(bits: u64) -> Self {
        Self(bits)
    }

    /// The raw bits.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Every defined right except OPERATOR: what a new instance's own operator holds anyway.
    pub fn all_defined() -> Self {
        Self::NAMED.iter().fold(Self::NONE, |acc, (_, r)| acc | *r)
    }

    /// Whether this set grants `right` (OPERATOR grants everything).
    pub const fn has(self, right: Rights) -> bool {
        self.0 & Self::OPERATOR.0 != 0 || self.0 & right.0 == right.0
    }

    /// Looks up a right by its name (`"CREATE_GUILDS"`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| *r)
    }

    /// The names of the rights in this set.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMED
            .iter()
            .filter(|(_, r)| self.0 & r.0 != 0)
            .map(|(n, _)| *n)
            .collect()
    }
}

impl std::ops::BitOr for Rights {
    type Output = Rights;
    fn bitor(self, rhs: Rights) -> Rights {
        Rights(self.0 | rhs.0)
    }
}
impl std::ops::BitOrAssign for Rights {
    fn bitor_assign(&mut self, rhs: Rights) {
        self.0 |= rhs.0;
    }
}
impl std::ops::BitAnd for Rights {
    type Output = Rights;
    fn bitand(self, rhs: Rights) -> Rights {
        Rights(self.0 & rhs.0)
    }
}

impl std::ops::Not for Rights {
    type Output = Rights;
    fn not(self) -> Rights {
        Rights(!self.0)
    }
}

impl fmt::Debug for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rights({:?})", self.names())
    }
}

/// Serialised as a decimal string, like permission bitfields.
impl Serialize for Rights {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}
impl<'de> Deserialize<'de> for Rights {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            N(u64),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(Rights(n)),
            Raw::S(s) => s.parse().map(Rights).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_implies_everything() {
        let op = Rights::OPERATOR;
        for (_, r) in Rights::NAMED {
            assert!(op.has(*r));
        }
        assert!(!Rights::CREATE_GUILDS.has(Rights::MANAGE_USERS));
        assert!((Rights::CREATE_GUILDS | Rights::SEND_MESSAGES).has(Rights::SEND_MESSAGES));
    }

    #[test]
    fn names_round_trip_and_bits_are_unique() {
        let mut seen = 0u64;
        for (name, r) in Rights::NAMED {
            assert_eq!(Rights::from_name(name), Some(*r));
            assert_eq!(r.bits().count_ones(), 1);
            assert_eq!(seen & r.bits(), 0, "{name} reuses a bit");
            seen |= r.bits();
        }
        assert_eq!(Rights::from_name("NOPE"), None);
        let set = Rights::CREATE_GUILDS | Rights::JOIN_GUILDS;
        assert_eq!(set.names(), vec!["CREATE_GUILDS", "JOIN_GUILDS"]);
        assert_eq!(
            serde_json::to_string(&set).unwrap(),
            format!("\"{}\"", set.bits())
        );
        assert_eq!(
            serde_json::from_str::<Rights>(&format!("\"{}\"", set.bits())).unwrap(),
            set
        );
    }
}
