-- Members per guild, kept by triggers, so that reading a guild's member count (every join,
-- every GUILD_CREATE) never scans its members.
ALTER TABLE guilds ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;
UPDATE guilds SET member_count = (SELECT COUNT(*) FROM members m WHERE m.guild_id = guilds.id);

CREATE TRIGGER members_count_add AFTER INSERT ON members
BEGIN
    UPDATE guilds SET member_count = member_count + 1 WHERE id = NEW.guild_id;
END;

CREATE TRIGGER members_count_remove AFTER DELETE ON members
BEGIN
    UPDATE guilds SET member_count = member_count - 1 WHERE id = OLD.guild_id;
END;
