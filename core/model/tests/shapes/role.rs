//! Shape tests for roles, role colors and role tags.

use accord_model::*;
use serde_json::json;

use crate::{assert_keys, assert_required, assert_serialised_keys, round_trip};

#[test]
fn example_role() {
    // developers/topics/permissions.mdx, "Example Role", as is.
    let json = json!({
      "id": "41771983423143936",
      "name": "WE DEM BOYZZ!!!!!!",
      "color": 3447003,
      "colors": {"primary_color": 3447003, "secondary_color": null, "tertiary_color": null},
      "hoist": true,
      "icon": "cf3ced8600b777c9486c6d8d84fb4327",
      "unicode_emoji": null,
      "position": 1,
      "permissions": "66321471",
      "managed": false,
      "mentionable": false,
      "flags": 0
    });
    let role: Role = round_trip(&json);
    assert_eq!(role.permissions.bits(), 66_321_471);
    assert_eq!(role.unicode_emoji, Some(None));
    assert_eq!(role.flags, RoleFlags::empty());
    for key in [
        "id",
        "name",
        "color",
        "colors",
        "hoist",
        "position",
        "permissions",
        "managed",
        "mentionable",
        "flags",
    ] {
        assert_required::<Role>(&json, key);
    }
    // The docs' "Default Role Colors Object".
    let default_colors =
        json!({"primary_color": 0, "secondary_color": null, "tertiary_color": null});
    assert_eq!(
        round_trip::<RoleColors>(&default_colors),
        RoleColors::default()
    );
    assert_keys(
        &default_colors,
        &["primary_color", "secondary_color", "tertiary_color"],
        &["secondary_color", "tertiary_color"],
    );
}

#[test]
fn role_tags_write_true_as_null_and_leave_false_out() {
    let json = json!({"bot_id": "1234", "premium_subscriber": null, "guild_connections": null});
    let tags: RoleTags = round_trip(&json);
    assert_eq!(tags.bot_id, Some(UserId::new(1234)));
    assert!(tags.premium_subscriber);
    assert!(tags.guild_connections);
    assert!(!tags.available_for_purchase);
    assert_keys(
        &json,
        &["bot_id", "premium_subscriber", "guild_connections"],
        &["premium_subscriber", "guild_connections"],
    );
    assert_serialised_keys(&RoleTags::default(), &[], &[]);
    let with_tags = json!({
      "id": "1", "name": "Booster", "color": 0, "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
      "hoist": false, "position": 2, "permissions": "0", "managed": true, "mentionable": false,
      "tags": {"premium_subscriber": null}, "flags": 1
    });
    let role: Role = round_trip(&with_tags);
    assert!(role.tags.unwrap().premium_subscriber);
    assert_eq!(role.flags, RoleFlags::IN_PROMPT);
}
