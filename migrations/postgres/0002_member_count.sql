-- Members per guild, kept by a trigger, so that reading a guild's member count (every join,
-- every GUILD_CREATE) never scans its members.
ALTER TABLE guilds ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;
UPDATE guilds SET member_count = (SELECT COUNT(*) FROM members m WHERE m.guild_id = guilds.id);

CREATE FUNCTION members_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE guilds SET member_count = member_count + 1 WHERE id = NEW.guild_id;
    ELSE
        UPDATE guilds SET member_count = member_count - 1 WHERE id = OLD.guild_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER members_count AFTER INSERT OR DELETE ON members
    FOR EACH ROW EXECUTE FUNCTION members_count();
