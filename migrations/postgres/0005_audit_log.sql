-- Guild audit log (developers/resources/audit-log.mdx): one row per administrative action;
-- `changes` and `options` are the entry's JSON arrays/objects as sent to clients.
CREATE TABLE audit_log_entries (
    id          BIGINT PRIMARY KEY,
    guild_id    BIGINT NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
    user_id     BIGINT,
    target_id   TEXT,
    action_type INTEGER NOT NULL,
    changes     TEXT NOT NULL,
    options     TEXT,
    reason      TEXT
);
CREATE INDEX audit_log_entries_guild ON audit_log_entries (guild_id, id);
