//! Store records turned into Discord's JSON objects (the wire model's structs).

use accord_model::application::ApplicationFlags;
use accord_model::{Application, PremiumType, User, UserFlags, UserId};
use accord_store::{ApplicationRecord, UserRecord};
use serde::Serialize;

/// The user object others see.
pub fn public_user(u: &UserRecord) -> User {
    User {
        id: UserId::from_i64(u.id),
        username: u.username.clone(),
        discriminator: u.discriminator.clone(),
        global_name: u.global_name.clone(),
        avatar: u.avatar.clone(),
        bot: u.bot.then_some(true),
        system: u.system.then_some(true),
        mfa_enabled: None,
        banner: Some(u.banner.clone()),
        accent_color: Some(u.accent_color.map(|c| c as u32)),
        locale: None,
        verified: None,
        email: None,
        flags: None,
        premium_type: None,
        public_flags: Some(UserFlags::from_bits(u.public_flags as u64)),
        avatar_decoration_data: Some(None),
        collectibles: None,
        primary_guild: None,
    }
}

/// The user object the account itself sees (`GET /users/@me`): with e-mail, locale, flags and
/// the profile fields Discord's own client reads.
#[derive(Debug, Clone, Serialize)]
pub struct PrivateUser {
    /// The user object with its private fields set.
    #[serde(flatten)]
    pub user: User,
    /// About me.
    pub bio: String,
    /// Pronouns.
    pub pronouns: String,
    /// Whether NSFW content is allowed (adults only, from the date of birth).
    pub nsfw_allowed: bool,
    /// A new token, present only after a password change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// See [`PrivateUser`].
pub fn private_user(u: &UserRecord) -> PrivateUser {
    let mut user = public_user(u);
    user.mfa_enabled = Some(u.mfa_enabled);
    user.locale = Some(u.locale.clone());
    // Bot accounts count as verified, as on Discord.
    user.verified = Some(u.verified || u.bot);
    user.email = Some(u.email.clone());
    user.flags = Some(UserFlags::from_bits(u.flags as u64));
    user.premium_type = Some(match u.premium_type {
        1 => PremiumType::NitroClassic,
        2 => PremiumType::Nitro,
        3 => PremiumType::NitroBasic,
        _ => PremiumType::None,
    });
    PrivateUser {
        user,
        bio: u.bio.clone(),
        pronouns: u.pronouns.clone(),
        nsfw_allowed: is_adult(u),
        token: None,
    }
}

fn is_adult(u: &UserRecord) -> bool {
    use chrono::{Datelike, NaiveDate, Utc};
    let Some(dob) = u
        .date_of_birth
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    else {
        return false;
    };
    let today = Utc::now().date_naive();
    let mut age = today.year() - dob.year();
    if (today.month(), today.day()) < (dob.month(), dob.day()) {
        age -= 1;
    }
    age >= 18
}

/// The application object, with its owner and bot as partial users.
pub fn application(
    app: &ApplicationRecord,
    owner: Option<&UserRecord>,
    bot: Option<&UserRecord>,
) -> Application {
    Application {
        id: app.application_id(),
        name: app.name.clone(),
        icon: app.icon.clone(),
        description: app.description.clone(),
        rpc_origins: None,
        bot_public: app.bot_public,
        bot_require_code_grant: app.bot_require_code_grant,
        bot: bot.map(public_user),
        terms_of_service_url: None,
        privacy_policy_url: None,
        owner: owner.map(public_user),
        summary: Some(String::new()),
        verify_key: app.verify_key.clone(),
        team: None,
        guild_id: None,
        primary_sku_id: None,
        slug: None,
        cover_image: None,
        flags: Some(ApplicationFlags::from_bits(app.flags as u64)),
        flags_new: None,
        approximate_guild_count: None,
        approximate_user_install_count: None,
        approximate_user_authorization_count: None,
        redirect_uris: Some(Vec::new()),
        interactions_endpoint_url: Some(app.interactions_endpoint_url.clone()),
        role_connections_verification_url: None,
        event_webhooks_url: None,
        event_webhooks_status: None,
        event_webhooks_types: None,
        tags: None,
        install_params: None,
        integration_types_config: None,
        custom_install_url: None,
    }
}
