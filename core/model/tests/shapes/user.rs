//! Shape tests for users, full and partial.

use accord_model::*;
use serde_json::json;

use crate::{assert_keys, assert_required, assert_serialised_keys, round_trip};

#[test]
fn example_user() {
    // developers/resources/user.mdx, "Example User", as is.
    let json = json!({
      "id": "80351110224678912",
      "username": "Nelly",
      "global_name": null,
      "discriminator": "1337",
      "avatar": "8342729096ea3675442027381ff50dfe",
      "verified": true,
      "email": "nelly@discord.com",
      "flags": 64,
      "banner": "06c16474723fe537c283b8efa61a30c8",
      "accent_color": 16711680,
      "premium_type": 0,
      "public_flags": 64,
      "avatar_decoration_data": {
        "sku_id": "1144058844004233369",
        "asset": "a_fed43ab12698df65902ba06727e20c0e"
      },
      "collectibles": {
        "nameplate": {
          "sku_id": "2247558840304243311",
          "asset": "nameplates/nameplates/twilight/",
          "label": "",
          "palette": "cobalt"
        }
      },
      "primary_guild": {
        "identity_guild_id": "1234647491267808778",
        "identity_enabled": true,
        "tag": "DISC",
        "badge": "7d1734ae5a615e82bc7a4033b98fade8"
      }
    });
    let user: User = round_trip(&json);
    assert_eq!(user.id, UserId::new(80_351_110_224_678_912));
    assert_eq!(user.flags, Some(UserFlags::HYPESQUAD_ONLINE_HOUSE_1));
    assert_eq!(user.premium_type, Some(PremiumType::None));
    assert_eq!(user.email, Some(Some("nelly@discord.com".into())));
    assert_eq!(user.accent_color, Some(Some(0xff0000)));
    assert_eq!(user.global_name, None);
    assert_eq!(user.bot, None);
    assert_eq!(
        user.collectibles
            .unwrap()
            .unwrap()
            .nameplate
            .unwrap()
            .palette,
        "cobalt"
    );
}

#[test]
fn partial_user_keys() {
    // The partial users of the docs' examples (message author, ban user) plus `global_name`,
    // which Accord always writes.
    let json = json!({
      "username": "Mason",
      "discriminator": "9999",
      "id": "53908099506183680",
      "avatar": "a_bab14f271d565501444b2ca3be944b25",
      "global_name": null,
      "public_flags": 131141
    });
    let user: User = round_trip(&json);
    assert_keys(
        &json,
        &[
            "id",
            "username",
            "discriminator",
            "avatar",
            "global_name",
            "public_flags",
        ],
        &["global_name"],
    );
    assert!(
        user.public_flags
            .unwrap()
            .contains(UserFlags::VERIFIED_DEVELOPER)
    );
    // Missing global_name is accepted and written back as null.
    let mut without = json.clone();
    without.as_object_mut().unwrap().remove("global_name");
    let parsed: User = serde_json::from_value(without).unwrap();
    assert_eq!(parsed, user);
    for key in ["id", "username", "discriminator"] {
        assert_required::<User>(&json, key);
    }
}

#[test]
fn nullable_optional_fields_keep_their_three_states() {
    let mut user = User::new(UserId::new(1), "a", "0");
    assert_serialised_keys(
        &user,
        &["id", "username", "discriminator", "global_name", "avatar"],
        &["global_name", "avatar"],
    );
    user.banner = Some(None);
    user.bot = Some(true);
    user.mfa_enabled = Some(false);
    user.avatar_decoration_data = Some(None);
    assert_serialised_keys(
        &user,
        &[
            "id",
            "username",
            "discriminator",
            "global_name",
            "avatar",
            "banner",
            "bot",
            "mfa_enabled",
            "avatar_decoration_data",
        ],
        &["global_name", "avatar", "banner", "avatar_decoration_data"],
    );
    let back: User = round_trip(&serde_json::to_value(&user).unwrap());
    assert_eq!(back.banner, Some(None));
}
