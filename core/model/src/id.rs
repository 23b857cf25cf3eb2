//! Typed snowflake ids: serialised as strings, accepted as strings or integers, and their generator.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Discord's epoch: the first millisecond of 2015, in Unix milliseconds.
pub const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// A 64-bit snowflake id, typed by what it names (`Id<UserMarker>`, `Id<GuildMarker>`, ...).
///
/// On the wire it is a decimal string; integers are accepted on input because some libraries
/// (discord.py's `message_reference`) send them.
pub struct Id<T> {
    value: u64,
    marker: PhantomData<fn() -> T>,
}

impl<T> Id<T> {
    /// Wraps a raw value.
    pub const fn new(value: u64) -> Self {
        Self {
            value,
            marker: PhantomData,
        }
    }

    /// The raw value.
    pub const fn get(self) -> u64 {
        self.value
    }

    /// The raw value as a signed integer, the form databases store.
    pub const fn as_i64(self) -> i64 {
        self.value as i64
    }

    /// Builds an id from the signed form databases store.
    pub const fn from_i64(value: i64) -> Self {
        Self::new(value as u64)
    }

    /// Milliseconds since the Unix epoch at which this id was generated.
    pub const fn timestamp_ms(self) -> u64 {
        (self.value >> 22) + DISCORD_EPOCH_MS
    }

    /// Reinterprets the id as naming another kind of thing (the @everyone role shares its
    /// guild's id, for example).
    pub const fn cast<U>(self) -> Id<U> {
        Id::new(self.value)
    }
}

impl<T> Clone for Id<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Id<T> {}
impl<T> PartialEq for Id<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}
impl<T> Eq for Id<T> {}
impl<T> PartialOrd for Id<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Id<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.value.cmp(&other.value)
    }
}
impl<T> std::hash::Hash for Id<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}
impl<T> fmt::Debug for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.value)
    }
}
impl<T> fmt::Display for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.value, f)
    }
}
impl<T> From<u64> for Id<T> {
    fn from(value: u64) -> Self {
        Self::new(value)
    }
}

/// The error for a string that is not a snowflake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseIdError;

impl fmt::Display for ParseIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a snowflake")
    }
}
impl std::error::Error for ParseIdError {}

impl<T> FromStr for Id<T> {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseIdError);
        }
        s.parse::<u64>().map(Self::new).map_err(|_| ParseIdError)
    }
}

impl<T> Serialize for Id<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 20];
        serializer.serialize_str(format_u64(self.value, &mut buf))
    }
}

fn format_u64(mut v: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

impl<'de, T> Deserialize<'de> for Id<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor<T>(PhantomData<fn() -> T>);
        impl<T> Visitor<'_> for IdVisitor<T> {
            type Value = Id<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a snowflake as a string or an integer")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Id::new(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                u64::try_from(v)
                    .map(Id::new)
                    .map_err(|_| E::custom(format!("Value \"{v}\" is not snowflake.")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                v.parse()
                    .map_err(|_| E::custom(format!("Value \"{v}\" is not snowflake.")))
            }
        }
        deserializer.deserialize_any(IdVisitor(PhantomData))
    }
}

macro_rules! markers {
    ($($(#[$doc:meta])* $marker:ident => $alias:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $marker;
        $(#[$doc])*
        pub type $alias = Id<$marker>;
    )*};
}

markers! {
    /// Names an audit log entry.
    AuditLogEntryMarker => AuditLogEntryId;
    /// Names a user (people and bots).
    UserMarker => UserId;
    /// Names a guild.
    GuildMarker => GuildId;
    /// Names a channel (guild channel, DM, group DM, thread).
    ChannelMarker => ChannelId;
    /// Names a role.
    RoleMarker => RoleId;
    /// Names a message.
    MessageMarker => MessageId;
    /// Names an application.
    ApplicationMarker => ApplicationId;
    /// Names an application command.
    CommandMarker => CommandId;
    /// Names an interaction.
    InteractionMarker => InteractionId;
    /// Names a webhook.
    WebhookMarker => WebhookId;
    /// Names a custom emoji.
    EmojiMarker => EmojiId;
    /// Names an attachment.
    AttachmentMarker => AttachmentId;
    /// Names a sticker.
    StickerMarker => StickerId;
    /// Names something whose kind the context decides (an overwrite target, say).
    GenericMarker => GenericId;
}

/// Generates unique snowflakes: `(ms since Discord epoch) << 22 | worker << 17 | process << 12 | increment`.
///
/// Lock-free: the last issued value is kept in one atomic, and each new id is the larger of
/// "now with increment 0" and "last + 1", so ids are strictly increasing even when more than
/// 4096 are asked for in one millisecond (the timestamp part then runs ahead briefly).
#[derive(Debug)]
pub struct SnowflakeGenerator {
    worker_process: u64,
    last: AtomicU64,
}

impl SnowflakeGenerator {
    /// A generator for `worker` (0–31) and `process` (0–31); larger values are masked.
    pub fn new(worker: u8, process: u8) -> Self {
        let worker_process = (u64::from(worker & 0x1f) << 17) | (u64::from(process & 0x1f) << 12);
        Self {
            worker_process,
            last: AtomicU64::new(0),
        }
    }

    /// The next id.
    pub fn next<T>(&self) -> Id<T> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(DISCORD_EPOCH_MS)
            .saturating_sub(DISCORD_EPOCH_MS);
        // The sequence without the worker/process bits: timestamp << 10 | increment (12 bits,
        // shifted so that the worker/process bits sit between them).
        let floor = now << 12;
        let mut prev = self.last.load(Ordering::Relaxed);
        loop {
            let candidate = floor.max(prev + 1);
            match self.last.compare_exchange_weak(
                prev,
                candidate,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    let ts = candidate >> 12;
                    let inc = candidate & 0xfff;
                    return Id::new((ts << 22) | self.worker_process | inc);
                }
                Err(actual) => prev = actual,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_string_and_accepts_both_forms() {
        let id = UserId::new(175_928_847_299_117_063);
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"175928847299117063\""
        );
        let from_str: UserId = serde_json::from_str("\"175928847299117063\"").unwrap();
        let from_int: UserId = serde_json::from_str("175928847299117063").unwrap();
        assert_eq!(from_str, id);
        assert_eq!(from_int, id);
        assert_eq!(serde_json::to_string(&UserId::new(0)).unwrap(), "\"0\"");
        assert_eq!(
            serde_json::to_string(&UserId::new(u64::MAX)).unwrap(),
            format!("\"{}\"", u64::MAX)
        );
    }

    #[test]
    fn rejects_non_snowflakes() {
        for bad in [
            "\"\"",
            "\"12a\"",
            "\"-1\"",
            "-5",
            "1.5",
            "null",
            "\"99999999999999999999999\"",
        ] {
            assert!(
                serde_json::from_str::<UserId>(bad).is_err(),
                "{bad} was accepted"
            );
        }
    }

    #[test]
    fn timestamp_matches_discords_documented_example() {
        // developers/reference.mdx: 175928847299117063 was created at 2016-04-30 11:18:25.796 UTC.
        assert_eq!(
            UserId::new(175_928_847_299_117_063).timestamp_ms(),
            1_462_015_105_796
        );
    }

    #[test]
    fn generator_is_strictly_increasing_and_carries_worker_bits() {
        let generator = SnowflakeGenerator::new(3, 7);
        let mut last = 0;
        for _ in 0..20_000 {
            let id: UserId = generator.next();
            assert!(id.get() > last);
            assert_eq!((id.get() >> 17) & 0x1f, 3);
            assert_eq!((id.get() >> 12) & 0x1f, 7);
            last = id.get();
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let ts = UserId::new(last).timestamp_ms();
        assert!(ts + 60_000 > now && ts < now + 60_000);
    }

    #[test]
    fn generator_is_unique_across_threads() {
        let generator = std::sync::Arc::new(SnowflakeGenerator::new(0, 0));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let g = generator.clone();
                std::thread::spawn(move || {
                    (0..10_000)
                        .map(|_| g.next::<UserMarker>().get())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<u64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n);
    }
}
