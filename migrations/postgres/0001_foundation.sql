-- Accord's foundation schema (PostgreSQL). Ids are snowflakes stored as BIGINT; permission and
-- rights bitfields are BIGINT (every defined bit is below 63).

CREATE TABLE instance_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id            BIGINT PRIMARY KEY,
    username      TEXT NOT NULL,
    discriminator TEXT NOT NULL DEFAULT '0',
    global_name   TEXT,
    avatar        TEXT,
    banner        TEXT,
    accent_color  INTEGER,
    bio           TEXT NOT NULL DEFAULT '',
    pronouns      TEXT NOT NULL DEFAULT '',
    bot           BOOLEAN NOT NULL DEFAULT FALSE,
    system        BOOLEAN NOT NULL DEFAULT FALSE,
    email         TEXT,
    verified      BOOLEAN NOT NULL DEFAULT FALSE,
    mfa_enabled   BOOLEAN NOT NULL DEFAULT FALSE,
    locale        TEXT NOT NULL DEFAULT 'en-US',
    flags         BIGINT NOT NULL DEFAULT 0,
    public_flags  BIGINT NOT NULL DEFAULT 0,
    premium_type  INTEGER NOT NULL DEFAULT 0,
    rights        BIGINT NOT NULL DEFAULT 0,
    date_of_birth TEXT,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    deleted       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX users_name_tag ON users (lower(username), discriminator);
CREATE UNIQUE INDEX users_email ON users (lower(email)) WHERE email IS NOT NULL;

-- Password credentials and token revocation. Tokens are stateless (HMAC-signed); a token issued
-- before tokens_valid_after_ms, or listed in revoked_tokens, is refused.
CREATE TABLE credentials (
    user_id               BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    password_hash         TEXT,
    tokens_valid_after_ms BIGINT NOT NULL DEFAULT 0,
    updated_at            TIMESTAMPTZ NOT NULL
);

CREATE TABLE revoked_tokens (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_id   TEXT NOT NULL,
    revoked_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, token_id)
);

CREATE TABLE applications (
    id                        BIGINT PRIMARY KEY,
    name                      TEXT NOT NULL,
    description               TEXT NOT NULL DEFAULT '',
    icon                      TEXT,
    owner_id                  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    bot_user_id               BIGINT UNIQUE REFERENCES users (id) ON DELETE SET NULL,
    bot_public                BOOLEAN NOT NULL DEFAULT TRUE,
    bot_require_code_grant    BOOLEAN NOT NULL DEFAULT FALSE,
    flags                     BIGINT NOT NULL DEFAULT 0,
    verify_key                TEXT NOT NULL,
    signing_key               TEXT NOT NULL,
    interactions_endpoint_url TEXT,
    created_at                TIMESTAMPTZ NOT NULL
);
CREATE INDEX applications_owner ON applications (owner_id);

CREATE TABLE guilds (
    id                            BIGINT PRIMARY KEY,
    name                          TEXT NOT NULL,
    icon                          TEXT,
    splash                        TEXT,
    discovery_splash              TEXT,
    banner                        TEXT,
    description                   TEXT,
    owner_id                      BIGINT NOT NULL REFERENCES users (id),
    afk_channel_id                BIGINT,
    afk_timeout                   INTEGER NOT NULL DEFAULT 300,
    system_channel_id             BIGINT,
    system_channel_flags          INTEGER NOT NULL DEFAULT 0,
    rules_channel_id              BIGINT,
    public_updates_channel_id     BIGINT,
    verification_level            INTEGER NOT NULL DEFAULT 0,
    default_message_notifications INTEGER NOT NULL DEFAULT 0,
    explicit_content_filter       INTEGER NOT NULL DEFAULT 0,
    mfa_level                     INTEGER NOT NULL DEFAULT 0,
    nsfw_level                    INTEGER NOT NULL DEFAULT 0,
    premium_tier                  INTEGER NOT NULL DEFAULT 0,
    preferred_locale              TEXT NOT NULL DEFAULT 'en-US',
    features                      JSONB NOT NULL DEFAULT '[]',
    vanity_url_code               TEXT UNIQUE,
    max_members                   INTEGER NOT NULL DEFAULT 250000,
    created_at                    TIMESTAMPTZ NOT NULL
);
CREATE INDEX guilds_owner ON guilds (owner_id);

-- Guild channels, DMs (dm_key = "<low id>:<high id>", one per pair) and group DMs.
CREATE TABLE channels (
    id                            BIGINT PRIMARY KEY,
    type                          INTEGER NOT NULL,
    guild_id                      BIGINT REFERENCES guilds (id) ON DELETE CASCADE,
    position                      INTEGER NOT NULL DEFAULT 0,
    name                          TEXT,
    topic                         TEXT,
    nsfw                          BOOLEAN NOT NULL DEFAULT FALSE,
    last_message_id               BIGINT,
    bitrate                       INTEGER,
    user_limit                    INTEGER,
    rate_limit_per_user           INTEGER NOT NULL DEFAULT 0,
    icon                          TEXT,
    owner_id                      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    application_id                BIGINT,
    parent_id                     BIGINT,
    last_pin_timestamp            TIMESTAMPTZ,
    rtc_region                    TEXT,
    video_quality_mode            INTEGER,
    default_auto_archive_duration INTEGER,
    flags                         BIGINT NOT NULL DEFAULT 0,
    dm_key                        TEXT UNIQUE,
    created_at                    TIMESTAMPTZ NOT NULL
);
CREATE INDEX channels_guild ON channels (guild_id);

CREATE TABLE channel_recipients (
    channel_id BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX channel_recipients_user ON channel_recipients (user_id);

CREATE TABLE roles (
    id             BIGINT PRIMARY KEY,
    guild_id       BIGINT NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    color          INTEGER NOT NULL DEFAULT 0,
    hoist          BOOLEAN NOT NULL DEFAULT FALSE,
    icon           TEXT,
    unicode_emoji  TEXT,
    position       INTEGER NOT NULL DEFAULT 0,
    permissions    BIGINT NOT NULL DEFAULT 0,
    managed        BOOLEAN NOT NULL DEFAULT FALSE,
    mentionable    BOOLEAN NOT NULL DEFAULT FALSE,
    flags          INTEGER NOT NULL DEFAULT 0,
    bot_id         BIGINT REFERENCES users (id) ON DELETE CASCADE,
    integration_id BIGINT,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX roles_guild ON roles (guild_id);

CREATE TABLE members (
    guild_id                     BIGINT NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
    user_id                      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    nick                         TEXT,
    avatar                       TEXT,
    banner                       TEXT,
    joined_at                    TIMESTAMPTZ NOT NULL,
    premium_since                TIMESTAMPTZ,
    deaf                         BOOLEAN NOT NULL DEFAULT FALSE,
    mute                         BOOLEAN NOT NULL DEFAULT FALSE,
    flags                        INTEGER NOT NULL DEFAULT 0,
    pending                      BOOLEAN NOT NULL DEFAULT FALSE,
    communication_disabled_until TIMESTAMPTZ,
    PRIMARY KEY (guild_id, user_id)
);
CREATE INDEX members_user ON members (user_id);

CREATE TABLE member_roles (
    guild_id BIGINT NOT NULL,
    user_id  BIGINT NOT NULL,
    role_id  BIGINT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (guild_id, user_id, role_id),
    FOREIGN KEY (guild_id, user_id) REFERENCES members (guild_id, user_id) ON DELETE CASCADE
);
CREATE INDEX member_roles_role ON member_roles (role_id);

-- type 0 = role, 1 = member.
CREATE TABLE permission_overwrites (
    channel_id BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    target_id  BIGINT NOT NULL,
    type       INTEGER NOT NULL,
    allow      BIGINT NOT NULL DEFAULT 0,
    deny       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (channel_id, target_id)
);

CREATE TABLE webhooks (
    id                BIGINT PRIMARY KEY,
    type              INTEGER NOT NULL,
    guild_id          BIGINT REFERENCES guilds (id) ON DELETE CASCADE,
    channel_id        BIGINT REFERENCES channels (id) ON DELETE CASCADE,
    user_id           BIGINT REFERENCES users (id) ON DELETE SET NULL,
    name              TEXT,
    avatar            TEXT,
    token             TEXT,
    application_id    BIGINT,
    source_guild_id   BIGINT,
    source_channel_id BIGINT,
    created_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhooks_channel ON webhooks (channel_id);
CREATE INDEX webhooks_guild ON webhooks (guild_id);

CREATE TABLE messages (
    id                   BIGINT PRIMARY KEY,
    channel_id           BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    guild_id             BIGINT,
    author_id            BIGINT NOT NULL,
    webhook_id           BIGINT,
    application_id       BIGINT,
    type                 INTEGER NOT NULL DEFAULT 0,
    content              TEXT NOT NULL DEFAULT '',
    tts                  BOOLEAN NOT NULL DEFAULT FALSE,
    mention_everyone     BOOLEAN NOT NULL DEFAULT FALSE,
    flags                BIGINT NOT NULL DEFAULT 0,
    nonce                TEXT,
    edited_at            TIMESTAMPTZ,
    reference_message_id BIGINT,
    reference_channel_id BIGINT,
    reference_guild_id   BIGINT,
    embeds               JSONB NOT NULL DEFAULT '[]',
    components           JSONB NOT NULL DEFAULT '[]',
    webhook_name         TEXT,
    webhook_avatar       TEXT,
    created_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX messages_channel_id ON messages (channel_id, id);
CREATE INDEX messages_author ON messages (author_id);

CREATE TABLE message_user_mentions (
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL,
    PRIMARY KEY (message_id, user_id)
);

CREATE TABLE message_role_mentions (
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    role_id    BIGINT NOT NULL,
    PRIMARY KEY (message_id, role_id)
);

CREATE TABLE attachments (
    id           BIGINT PRIMARY KEY,
    message_id   BIGINT REFERENCES messages (id) ON DELETE CASCADE,
    channel_id   BIGINT NOT NULL,
    filename     TEXT NOT NULL,
    description  TEXT,
    content_type TEXT,
    size         BIGINT NOT NULL,
    storage_key  TEXT NOT NULL,
    height       INTEGER,
    width        INTEGER,
    ephemeral    BOOLEAN NOT NULL DEFAULT FALSE,
    duration_secs DOUBLE PRECISION,
    waveform     TEXT,
    flags        INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id);

-- emoji_key is the custom emoji id in decimal, or the unicode emoji itself.
CREATE TABLE reactions (
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    emoji_key  TEXT NOT NULL,
    emoji_id   BIGINT,
    emoji_name TEXT,
    animated   BOOLEAN NOT NULL DEFAULT FALSE,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    burst      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (message_id, emoji_key, user_id, burst)
);

CREATE TABLE pins (
    message_id BIGINT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    pinned_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX pins_channel ON pins (channel_id, pinned_at);

CREATE TABLE invites (
    code                  TEXT PRIMARY KEY,
    guild_id              BIGINT REFERENCES guilds (id) ON DELETE CASCADE,
    channel_id            BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    inviter_id            BIGINT REFERENCES users (id) ON DELETE SET NULL,
    target_type           INTEGER,
    target_user_id        BIGINT,
    target_application_id BIGINT,
    max_age               INTEGER NOT NULL DEFAULT 86400,
    max_uses              INTEGER NOT NULL DEFAULT 0,
    uses                  INTEGER NOT NULL DEFAULT 0,
    temporary             BOOLEAN NOT NULL DEFAULT FALSE,
    flags                 INTEGER NOT NULL DEFAULT 0,
    created_at            TIMESTAMPTZ NOT NULL,
    expires_at            TIMESTAMPTZ
);
CREATE INDEX invites_guild ON invites (guild_id);

CREATE TABLE bans (
    guild_id     BIGINT NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
    user_id      BIGINT NOT NULL,
    reason       TEXT,
    moderator_id BIGINT,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

CREATE TABLE emojis (
    id             BIGINT PRIMARY KEY,
    guild_id       BIGINT NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    user_id        BIGINT REFERENCES users (id) ON DELETE SET NULL,
    require_colons BOOLEAN NOT NULL DEFAULT TRUE,
    managed        BOOLEAN NOT NULL DEFAULT FALSE,
    animated       BOOLEAN NOT NULL DEFAULT FALSE,
    available      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX emojis_guild ON emojis (guild_id);

CREATE TABLE emoji_roles (
    emoji_id BIGINT NOT NULL REFERENCES emojis (id) ON DELETE CASCADE,
    role_id  BIGINT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (emoji_id, role_id)
);

CREATE TABLE read_states (
    user_id            BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel_id         BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    last_message_id    BIGINT,
    last_pin_timestamp TIMESTAMPTZ,
    mention_count      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, channel_id)
);
