//! The user object (developers/resources/user.mdx) with its flags, premium types, avatar
//! decoration, collectibles and primary guild.
//!
//! One `User` type serves both full and partial users: fields Discord marks optional (`field?`)
//! are `Option` and left out when `None`; `global_name` and `avatar`, which Discord always sends
//! and may send as null, are `Option` written as null. Optional-and-nullable fields
//! (`banner?: ?string`) are `Option<Option<T>>`, see [`crate::serde_util`].

use serde::{Deserialize, Serialize};
use serde_repr::{Deserialize_repr, Serialize_repr};

use crate::id::{GenericId, GuildId, UserId};
use crate::serde_util::nullable;

flags! {
    /// Flags on a user's account (`flags`, `public_flags`).
    pub struct UserFlags: integer {
        /// Discord employee.
        const STAFF = 1 << 0;
        /// Partnered server owner.
        const PARTNER = 1 << 1;
        /// HypeSquad Events member.
        const HYPESQUAD = 1 << 2;
        /// Bug Hunter level 1.
        const BUG_HUNTER_LEVEL_1 = 1 << 3;
        /// House Bravery member.
        const HYPESQUAD_ONLINE_HOUSE_1 = 1 << 6;
        /// House Brilliance member.
        const HYPESQUAD_ONLINE_HOUSE_2 = 1 << 7;
        /// House Balance member.
        const HYPESQUAD_ONLINE_HOUSE_3 = 1 << 8;
        /// Early Nitro supporter.
        const PREMIUM_EARLY_SUPPORTER = 1 << 9;
        /// The user is a team.
        const TEAM_PSEUDO_USER = 1 << 10;
        /// Bug Hunter level 2.
        const BUG_HUNTER_LEVEL_2 = 1 << 14;
        /// Verified bot.
        const VERIFIED_BOT = 1 << 16;
        /// Early verified bot developer.
        const VERIFIED_DEVELOPER = 1 << 17;
        /// Moderator Programs alumni.
        const CERTIFIED_MODERATOR = 1 << 18;
        /// Bot uses only HTTP interactions.
        const BOT_HTTP_INTERACTIONS = 1 << 19;
    }
}

/// The level of a user's Nitro subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(u8)]
pub enum PremiumType {
    /// None.
    None = 0,
    /// Nitro Classic.
    NitroClassic = 1,
    /// Nitro.
    Nitro = 2,
    /// Nitro Basic.
    NitroBasic = 3,
}

/// A user (person or bot).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// The username, not unique across the platform.
    pub username: String,
    /// The Discord-tag (`"0"` for migrated usernames).
    pub discriminator: String,
    /// The display name, if set (always written, null when unset).
    pub global_name: Option<String>,
    /// The avatar hash (always written, null when unset).
    pub avatar: Option<String>,
    /// Whether the user belongs to an OAuth2 application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<bool>,
    /// Whether the user is an official system user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<bool>,
    /// Whether two-factor authentication is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_enabled: Option<bool>,
    /// The banner hash.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub banner: Option<Option<String>>,
    /// The banner color as an integer.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub accent_color: Option<Option<u32>>,
    /// The chosen language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Whether the email is verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// The email.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub email: Option<Option<String>>,
    /// The account's flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<UserFlags>,
    /// The Nitro subscription type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub premium_type: Option<PremiumType>,
    /// The account's public flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_flags: Option<UserFlags>,
    /// The avatar decoration.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub avatar_decoration_data: Option<Option<AvatarDecorationData>>,
    /// The user's collectibles.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub collectibles: Option<Option<Collectibles>>,
    /// The user's primary guild.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub primary_guild: Option<Option<UserPrimaryGuild>>,
}

impl User {
    /// A user with the always-present fields set and every optional field absent.
    pub fn new(id: UserId, username: impl Into<String>, discriminator: impl Into<String>) -> Self {
        Self {
            id,
            username: username.into(),
            discriminator: discriminator.into(),
            global_name: None,
            avatar: None,
            bot: None,
            system: None,
            mfa_enabled: None,
            banner: None,
            accent_color: None,
            locale: None,
            verified: None,
            email: None,
            flags: None,
            premium_type: None,
            public_flags: None,
            avatar_decoration_data: None,
            collectibles: None,
            primary_guild: None,
        }
    }
}

/// An avatar decoration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvatarDecorationData {
    /// The decoration's hash.
    pub asset: String,
    /// The decoration's SKU id.
    pub sku_id: GenericId,
}

/// A user's collectibles (avatar decorations and profile effects excluded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collectibles {
    /// The nameplate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nameplate: Option<Nameplate>,
}

/// A nameplate collectible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nameplate {
    /// The nameplate's SKU id.
    pub sku_id: GenericId,
    /// Path to the nameplate asset.
    pub asset: String,
    /// The label (currently unused).
    pub label: String,
    /// Background color name (`crimson`, `berry`, ...).
    pub palette: String,
}

/// The guild whose tag a user displays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPrimaryGuild {
    /// The guild's id.
    pub identity_guild_id: Option<GuildId>,
    /// Whether the user displays the tag.
    pub identity_enabled: Option<bool>,
    /// The tag text (up to 4 characters).
    pub tag: Option<String>,
    /// The tag badge hash.
    pub badge: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_user_has_only_the_required_keys() {
        let user = User::new(UserId::new(1), "a", "0");
        assert_eq!(
            serde_json::to_value(&user).unwrap(),
            serde_json::json!({"id": "1", "username": "a", "discriminator": "0", "global_name": null, "avatar": null})
        );
    }

    #[test]
    fn premium_type_is_an_integer() {
        assert_eq!(
            serde_json::to_string(&PremiumType::NitroBasic).unwrap(),
            "3"
        );
        assert!(serde_json::from_str::<PremiumType>("4").is_err());
    }
}
