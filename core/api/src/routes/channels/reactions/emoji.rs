//! Emoji as reaction URLs name them: a percent-encoded unicode emoji (decoded by the router),
//! or `name:id` / `a:name:id` for a custom one; and the partial emoji objects of the events.

use accord_model::{Emoji, EmojiId, Reaction, ReactionCountDetails};
use accord_store::{ReactionCount, ReactionEmoji};

use crate::error::{ApiError, ApiResult, Unknown};

/// An emoji as the URL names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlEmoji {
    /// A unicode emoji.
    Unicode(String),
    /// A custom emoji (the name in the URL is not trusted: the stored one is used).
    Custom(EmojiId),
}

impl UrlEmoji {
    /// Parses the decoded path segment: `name:id`, `a:name:id`, or a unicode emoji (10014
    /// otherwise, as Discord answers a badly encoded emoji).
    pub fn parse(raw: &str) -> ApiResult<Self> {
        let unknown = ApiError::Unknown(Unknown::Emoji);
        if let Some((_, id)) = raw.rsplit_once(':') {
            return id.parse().map(UrlEmoji::Custom).map_err(|_| unknown);
        }
        if is_unicode_emoji(raw) {
            Ok(UrlEmoji::Unicode(raw.to_owned()))
        } else {
            Err(unknown)
        }
    }

    /// The store's key for this emoji.
    pub fn key(&self) -> String {
        match self {
            UrlEmoji::Unicode(s) => s.clone(),
            UrlEmoji::Custom(id) => id.to_string(),
        }
    }
}

/// Whether `s` has the shape of one unicode emoji: a pictograph with optional variation
/// selectors, skin tones, zero-width joiners and tag characters, a keycap sequence, or a flag.
/// Accord ships no emoji table, so the shape is what is checked; text never passes.
fn is_unicode_emoji(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() || chars.len() > 16 {
        return false;
    }
    if matches!(chars[0], '0'..='9' | '#' | '*') {
        return matches!(&chars[1..], ['\u{FE0F}', '\u{20E3}'] | ['\u{20E3}']);
    }
    let mut pictograph = false;
    for c in chars {
        match u32::from(c) {
            0x200D | 0xFE0E | 0xFE0F | 0x20E3 | 0xE0020..=0xE007F | 0x1F3FB..=0x1F3FF => {}
            0xA9
            | 0xAE
            | 0x203C
            | 0x2049
            | 0x2122
            | 0x2139
            | 0x2194..=0x21AA
            | 0x231A..=0x23FF
            | 0x24C2
            | 0x25AA..=0x27BF
            | 0x2934
            | 0x2935
            | 0x2B05..=0x2B55
            | 0x3030
            | 0x303D
            | 0x3297
            | 0x3299
            | 0x1F000..=0x1FAFF => pictograph = true,
            _ => return false,
        }
    }
    pictograph
}

/// The partial emoji of a stored reaction (`animated` only when it is).
pub fn emoji_of(r: &ReactionEmoji) -> Emoji {
    let mut emoji = Emoji::partial(r.id, r.name.clone());
    emoji.animated = r.animated.then_some(true);
    emoji
}

/// A stored reaction's emoji.
pub fn stored(c: &ReactionCount) -> ReactionEmoji {
    ReactionEmoji {
        key: c.emoji_key.clone(),
        id: c.emoji_id.map(EmojiId::from_i64),
        name: c.emoji_name.clone(),
        animated: c.animated,
    }
}

/// The reaction object of a message for the user the counts were read for.
pub fn reaction(c: &ReactionCount) -> Reaction {
    let (normal, burst) = (c.count.max(0) as u32, c.burst_count.max(0) as u32);
    Reaction {
        count: normal + burst,
        count_details: ReactionCountDetails { burst, normal },
        me: c.me,
        me_burst: c.me_burst,
        emoji: emoji_of(&stored(c)),
        burst_colors: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_emoji_forms() {
        assert_eq!(
            UrlEmoji::parse("👍").unwrap(),
            UrlEmoji::Unicode("👍".into())
        );
        for ok in ["❤️", "👍🏽", "🇫🇷", "1️⃣", "👨‍👩‍👧", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "©️"]
        {
            assert!(UrlEmoji::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            UrlEmoji::parse("blob:123").unwrap(),
            UrlEmoji::Custom(EmojiId::from_i64(123))
        );
        assert_eq!(
            UrlEmoji::parse("a:blob:123").unwrap(),
            UrlEmoji::Custom(EmojiId::from_i64(123))
        );
        for bad in [
            "",
            "a",
            "thumbsup",
            "👍 ",
            "blob:x",
            ":",
            "12",
            "🏽",
            "%F0%9F%91%8D",
        ] {
            assert!(UrlEmoji::parse(bad).is_err(), "{bad}");
        }
    }
}
