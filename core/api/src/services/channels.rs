//! Rules shared by every way a guild channel comes to exist (guild creation, channel creation).

use accord_store::NewChannel;

/// Fills the fields Discord always has for the channel's type (voice channels carry a bitrate
/// and a user limit, which clients such as discord.py read unconditionally).
pub fn apply_type_defaults(new: &mut NewChannel) {
    if matches!(new.kind, 2 | 13) {
        new.bitrate.get_or_insert(64_000);
        new.user_limit.get_or_insert(0);
    }
}
