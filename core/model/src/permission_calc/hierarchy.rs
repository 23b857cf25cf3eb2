//! The role hierarchy: who may edit which role and act on which member, by role position.
//!
//! Positions only: Discord breaks ties between equal positions by role id, but two different
//! roles never manage each other here when their positions are equal. These checks are about the
//! hierarchy alone; the permission they go with (`MANAGE_ROLES`, `KICK_MEMBERS`, ...) is checked
//! separately.

use crate::id::UserId;

/// Where a member stands in its guild's role hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hierarchy {
    /// The member owns the guild.
    pub is_owner: bool,
    /// The highest position among the member's roles; @everyone counts as position 0, so this is
    /// never below 0.
    pub highest_position: i32,
}

/// The hierarchy standing of `user_id`, given the positions of its roles (with or without the
/// @everyone role's 0; an empty list means only @everyone).
pub fn hierarchy(owner_id: UserId, user_id: UserId, role_positions: &[i32]) -> Hierarchy {
    Hierarchy {
        is_owner: owner_id == user_id,
        highest_position: role_positions.iter().copied().fold(0, i32::max),
    }
}

/// Whether `actor` may edit, delete or assign the role at `role_position`: the owner always,
/// anyone else only for a role strictly below its highest role.
pub fn can_manage_role(actor: &Hierarchy, role_position: i32) -> bool {
    actor.is_owner || actor.highest_position > role_position
}

/// Whether `actor` may act on `target` (kick, ban, time out, edit roles or nickname): nobody acts
/// on the owner (the owner on themselves included); the owner acts on everyone else; anyone else
/// only on a member whose highest role is strictly below its own.
pub fn can_manage_member(actor: &Hierarchy, target: &Hierarchy) -> bool {
    if target.is_owner {
        return false;
    }
    actor.is_owner || actor.highest_position > target.highest_position
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OWNER: UserId = UserId::new(1);
    const USER: UserId = UserId::new(2);

    fn member(highest_position: i32) -> Hierarchy {
        Hierarchy {
            is_owner: false,
            highest_position,
        }
    }

    fn owner(highest_position: i32) -> Hierarchy {
        Hierarchy {
            is_owner: true,
            highest_position,
        }
    }

    #[test]
    fn standing_is_the_highest_position_and_ownership() {
        assert_eq!(hierarchy(OWNER, USER, &[3, 7, 5]), member(7));
        assert_eq!(hierarchy(OWNER, OWNER, &[3, 7, 5]), owner(7));
        assert_eq!(hierarchy(OWNER, USER, &[0, 2]), member(2));
        // Only @everyone.
        assert_eq!(hierarchy(OWNER, USER, &[]), member(0));
        assert_eq!(hierarchy(OWNER, OWNER, &[]), owner(0));
        // @everyone's 0 is the floor.
        assert_eq!(hierarchy(OWNER, USER, &[-4, -1]), member(0));
        assert_eq!(hierarchy(OWNER, USER, &[i32::MAX, 1]), member(i32::MAX));
    }

    #[test]
    fn roles_strictly_below_can_be_managed() {
        let m = member(5);
        assert!(can_manage_role(&m, 4));
        assert!(can_manage_role(&m, 0));
        assert!(can_manage_role(&m, -1));
        assert!(!can_manage_role(&m, 5), "equal position");
        assert!(!can_manage_role(&m, 6));
        assert!(!can_manage_role(&m, i32::MAX));
        // Holding only @everyone: nothing, not even @everyone itself.
        assert!(!can_manage_role(&member(0), 0));
        assert!(can_manage_role(&member(1), 0));
    }

    #[test]
    fn the_owner_manages_every_role() {
        for position in [i32::MIN, -1, 0, 1, 5, 6, 100, i32::MAX] {
            assert!(can_manage_role(&owner(0), position));
            assert!(can_manage_role(&owner(5), position));
        }
    }

    #[test]
    fn members_strictly_below_can_be_managed() {
        assert!(can_manage_member(&member(5), &member(4)));
        assert!(can_manage_member(&member(5), &member(0)));
        assert!(!can_manage_member(&member(5), &member(5)), "equal highest");
        assert!(!can_manage_member(&member(5), &member(6)));
        assert!(!can_manage_member(&member(0), &member(0)));
        // Nobody but the owner acts on themselves.
        let me = hierarchy(OWNER, USER, &[3]);
        assert!(!can_manage_member(&me, &me));
    }

    #[test]
    fn the_owner_manages_everyone_else() {
        for position in [0, 1, 5, i32::MAX] {
            assert!(can_manage_member(&owner(0), &member(position)));
        }
        // Even when the target's roles are above the owner's.
        assert!(can_manage_member(
            &hierarchy(OWNER, OWNER, &[]),
            &hierarchy(OWNER, USER, &[50])
        ));
    }

    #[test]
    fn nobody_manages_the_owner() {
        for position in [0, 1, 5, i32::MAX] {
            assert!(!can_manage_member(&member(position), &owner(0)));
            assert!(!can_manage_member(&member(i32::MAX), &owner(position)));
        }
        // Not even the owner through this check.
        let o = hierarchy(OWNER, OWNER, &[1]);
        assert!(!can_manage_member(&o, &o));
        assert!(!can_manage_member(&owner(9), &owner(1)));
    }

    fn standing() -> impl Strategy<Value = Hierarchy> {
        (any::<bool>(), proptest::collection::vec(-3i32..12, 0..5)).prop_map(
            |(is_owner, positions)| {
                hierarchy(OWNER, if is_owner { OWNER } else { USER }, &positions)
            },
        )
    }

    proptest! {
        #[test]
        fn highest_is_the_maximum_with_everyone(positions in proptest::collection::vec(any::<i32>(), 0..6)) {
            let h = hierarchy(OWNER, USER, &positions);
            prop_assert!(h.highest_position >= 0);
            prop_assert!(positions.iter().all(|p| *p <= h.highest_position));
            prop_assert!(h.highest_position == 0 || positions.contains(&h.highest_position));
        }

        #[test]
        fn member_management_is_role_management_of_the_target_highest(a in standing(), b in standing()) {
            let expected = !b.is_owner && can_manage_role(&a, b.highest_position);
            prop_assert_eq!(can_manage_member(&a, &b), expected);
        }

        #[test]
        fn management_is_never_mutual(a in standing(), b in standing()) {
            prop_assert!(!(can_manage_member(&a, &b) && can_manage_member(&b, &a)));
            prop_assert!(!can_manage_member(&a, &a));
        }

        #[test]
        fn management_is_transitive_among_non_owners(a in standing(), b in standing(), c in standing()) {
            if !a.is_owner && can_manage_member(&a, &b) && can_manage_member(&b, &c) {
                prop_assert!(can_manage_member(&a, &c));
            }
        }
    }
}
