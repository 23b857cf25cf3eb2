-- Forum and media channels (developers/resources/channel.mdx): their tags (`available_tags`,
-- the forum tag objects as a JSON array, ids assigned by the server), default reaction, default
-- slow mode for new threads, sort order and layout; and the tags applied to a thread
-- (`applied_tags`, a JSON array of tag ids of its parent).
ALTER TABLE channels ADD COLUMN available_tags JSONB NOT NULL DEFAULT '[]';
ALTER TABLE channels ADD COLUMN applied_tags JSONB NOT NULL DEFAULT '[]';
ALTER TABLE channels ADD COLUMN default_reaction_emoji_id BIGINT;
ALTER TABLE channels ADD COLUMN default_reaction_emoji_name TEXT;
ALTER TABLE channels ADD COLUMN default_thread_rate_limit_per_user INTEGER;
ALTER TABLE channels ADD COLUMN default_sort_order INTEGER;
ALTER TABLE channels ADD COLUMN default_forum_layout INTEGER;
