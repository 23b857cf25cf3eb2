-- Threads (developers/topics/threads.mdx) are channels of types 10, 11 and 12: they live in
-- `channels` (parent_id = the text, announcement, forum or media channel, owner_id = the creator)
-- with their thread-only fields below, and their members in `thread_members`.
ALTER TABLE channels ADD COLUMN archived BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE channels ADD COLUMN auto_archive_duration INTEGER;
ALTER TABLE channels ADD COLUMN archive_timestamp TEXT;
ALTER TABLE channels ADD COLUMN locked BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE channels ADD COLUMN invitable BOOLEAN;
ALTER TABLE channels ADD COLUMN message_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN total_message_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;
-- A forum post made through a webhook is owned by the webhook, which is not a user.
ALTER TABLE channels ADD COLUMN owner_webhook_id BIGINT;
CREATE INDEX channels_parent ON channels (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE thread_members (
    thread_id      BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    user_id        BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    guild_id       BIGINT NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
    join_timestamp TEXT NOT NULL,
    flags          BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (thread_id, user_id)
);
CREATE INDEX thread_members_user ON thread_members (guild_id, user_id);
