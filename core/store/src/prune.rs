//! Guild prune: which members have been inactive since a given time.
//!
//! Discord prunes members it has not *seen* for a number of days. Accord keeps no record of
//! when a user was last online (presences live only in the gateways), so activity in a guild is
//! what the database does record, all of it tied to the guild:
//!
//! - joining it (`members.joined_at`): a member who joined after the cutoff is never inactive;
//! - sending a message in one of its channels or threads (a message by the member with an id —
//!   a snowflake, hence a time — at or after the cutoff);
//! - reading one of its channels (a read state of the member in one of its channels whose
//!   acknowledged message was posted at or after the cutoff: they were there to read it).
//!
//! A member with none of these since the cutoff is inactive. Which of them may be pruned (roles,
//! hierarchy, the owner) is the caller's decision.

use accord_model::{DISCORD_EPOCH_MS, GuildId, UserId};
use chrono::{DateTime, Utc};

use crate::{MemberRecord, Result, Store, dispatch};

/// The smallest snowflake of an instant: ids at or above it were made at or after `at`.
fn snowflake_floor(at: DateTime<Utc>) -> i64 {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    i64::try_from(ms.saturating_sub(DISCORD_EPOCH_MS) << 22).unwrap_or(i64::MAX)
}

impl Store {
    /// The members of `guild` inactive since `since` (see the module documentation), by user
    /// id, with their roles.
    pub async fn inactive_members(
        &self,
        guild: GuildId,
        since: DateTime<Utc>,
    ) -> Result<Vec<MemberRecord>> {
        let floor = snowflake_floor(since);
        let ids: Vec<i64> = dispatch!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT m.user_id FROM members m WHERE m.guild_id = $1 AND m.joined_at < $2 \
                 AND NOT EXISTS (SELECT 1 FROM messages g \
                     WHERE g.author_id = m.user_id AND g.guild_id = $1 AND g.id >= $3) \
                 AND NOT EXISTS (SELECT 1 FROM read_states r JOIN channels c ON c.id = r.channel_id \
                     WHERE r.user_id = m.user_id AND c.guild_id = $1 AND r.last_message_id >= $3) \
                 ORDER BY m.user_id",
            )
            .bind(guild.as_i64())
            .bind(since)
            .bind(floor)
            .fetch_all(pool)
            .await?
        });
        let ids: Vec<UserId> = ids.into_iter().map(UserId::from_i64).collect();
        self.members_by_ids(guild, &ids).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_is_the_first_id_of_its_millisecond() {
        let at = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        let floor = snowflake_floor(at);
        assert_eq!((floor >> 22) as u64 + DISCORD_EPOCH_MS, 1_700_000_000_123);
        assert_eq!(floor & ((1 << 22) - 1), 0);
        assert_eq!(
            snowflake_floor(DateTime::from_timestamp_millis(0).unwrap()),
            0
        );
    }
}
