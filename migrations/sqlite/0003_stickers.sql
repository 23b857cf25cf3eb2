-- Guild stickers (developers/resources/sticker.mdx): the metadata of each uploaded sticker; the
-- file itself is kept in blob storage under `stickers/{id}`.
CREATE TABLE stickers (
    id          BIGINT PRIMARY KEY,
    guild_id    BIGINT NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT,
    tags        TEXT NOT NULL,
    format_type INTEGER NOT NULL,
    available   BOOLEAN NOT NULL DEFAULT TRUE,
    user_id     BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX stickers_guild ON stickers (guild_id);
