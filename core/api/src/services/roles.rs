//! Role rules shared by the role and member routes: the event payloads, who may grant which
//! permissions, which roles a caller may hand out, and how a position request reorders roles.

use accord_model::{GuildId, Permissions, Role, RoleId};
use accord_store::RoleRecord;
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::services::access::GuildAccess;

/// GUILD_ROLE_CREATE / GUILD_ROLE_UPDATE payload.
#[derive(Debug, Serialize)]
pub struct RoleEvent {
    /// The guild.
    pub guild_id: GuildId,
    /// The role.
    pub role: Role,
}

/// GUILD_ROLE_DELETE payload.
#[derive(Debug, Serialize)]
pub struct RoleDeleteEvent {
    /// The guild.
    pub guild_id: GuildId,
    /// The deleted role.
    pub role_id: RoleId,
}

/// Fails with 50013 unless the caller may change a role's permissions from `old` to `new`: every
/// permission switched on or off must be one the caller holds (owners and administrators hold
/// them all).
pub fn check_grant(access: &GuildAccess, old: Permissions, new: Permissions) -> ApiResult<()> {
    let changed = Permissions::from_bits_truncate((old ^ new).bits());
    if access.permissions.contains(changed) {
        Ok(())
    } else {
        Err(ApiError::MissingPermissions)
    }
}

/// Fails unless the caller may give or take `role` by hand: 50028 for @everyone and managed
/// roles, 50013 for roles at or above the caller's highest role.
pub fn check_assignable(access: &GuildAccess, role: &RoleRecord) -> ApiResult<()> {
    if role.id == access.guild.id || role.managed {
        return Err(ApiError::InvalidRole);
    }
    if !access.can_manage_role(role) {
        return Err(ApiError::MissingPermissions);
    }
    Ok(())
}

/// Fails with 50013 unless the caller may act on the member `target` (edit, kick, ban): acting
/// on oneself needs no rank; anyone else must sit below the caller, and nobody acts on the owner.
pub fn check_outranks(access: &GuildAccess, target: &accord_store::MemberRecord) -> ApiResult<()> {
    if target.user_id == access.user_id.as_i64() || access.can_manage_member(target) {
        Ok(())
    } else {
        Err(ApiError::MissingPermissions)
    }
}

/// The new positions after moving the roles in `moves` (role id, requested position) among
/// `roles` (@everyone, whose id is `everyone`, stays at 0 and is never renumbered).
///
/// Each moved role takes the requested place: roles are ordered by their requested position (or
/// their current one when not moved); when a moved role lands on the position of a role that
/// stays, it goes below it if it moved down and above it if it moved up; then the roles are
/// numbered 1, 2, 3, ... in that order. Returns the roles whose position changes, as (id, new
/// position), lowest first.
pub fn reorder(roles: &[RoleRecord], everyone: i64, moves: &[(i64, i32)]) -> Vec<(i64, i32)> {
    let mut current: Vec<&RoleRecord> = roles.iter().filter(|r| r.id != everyone).collect();
    current.sort_by_key(|r| (r.position, r.id));
    let mut keyed: Vec<(i32, i8, usize, &RoleRecord)> = current
        .iter()
        .enumerate()
        .map(
            |(index, r)| match moves.iter().find(|(id, _)| *id == r.id) {
                Some((_, to)) => {
                    let tie = match to.cmp(&r.position) {
                        std::cmp::Ordering::Less => -1,
                        std::cmp::Ordering::Equal => 0,
                        std::cmp::Ordering::Greater => 1,
                    };
                    (*to, tie, index, *r)
                }
                None => (r.position, 0, index, *r),
            },
        )
        .collect();
    keyed.sort_by_key(|(key, tie, index, _)| (*key, *tie, *index));
    keyed
        .iter()
        .enumerate()
        .filter_map(|(i, (_, _, _, r))| {
            let position = i as i32 + 1;
            (r.position != position).then_some((r.id, position))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(id: i64, position: i32) -> RoleRecord {
        RoleRecord {
            id,
            guild_id: 1,
            name: format!("r{id}"),
            color: 0,
            hoist: false,
            icon: None,
            unicode_emoji: None,
            position,
            permissions: 0,
            managed: false,
            mentionable: false,
            flags: 0,
            bot_id: None,
            integration_id: None,
            created_at: chrono::Utc::now(),
        }
    }

    fn guild() -> Vec<RoleRecord> {
        // @everyone (1), then 10 at 1, 11 at 2, 12 at 3, 13 at 4.
        vec![
            role(1, 0),
            role(10, 1),
            role(11, 2),
            role(12, 3),
            role(13, 4),
        ]
    }

    #[test]
    fn a_role_moved_down_goes_below_the_one_in_its_place() {
        assert_eq!(
            reorder(&guild(), 1, &[(12, 1)]),
            vec![(12, 1), (10, 2), (11, 3)]
        );
    }

    #[test]
    fn a_role_moved_up_goes_above_the_one_in_its_place() {
        assert_eq!(
            reorder(&guild(), 1, &[(10, 3)]),
            vec![(11, 1), (12, 2), (10, 3)]
        );
    }

    #[test]
    fn explicit_full_orders_are_applied_as_given() {
        assert_eq!(
            reorder(&guild(), 1, &[(10, 2), (11, 1)]),
            vec![(11, 1), (10, 2)]
        );
        assert!(reorder(&guild(), 1, &[(10, 1)]).is_empty());
    }

    #[test]
    fn gaps_are_closed_without_changing_the_order() {
        let roles = vec![role(1, 0), role(10, 1), role(11, 5), role(12, 9)];
        assert_eq!(reorder(&roles, 1, &[(10, 4)]), vec![(11, 2), (12, 3)]);
    }
}
