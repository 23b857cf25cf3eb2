-- Application commands (developers/interactions/application-commands.mdx). `scope` is the
-- guild id of a guild command and 0 for a global one, so one unique index keeps names unique per
-- application, scope and type. `data` holds the rest of the command object as JSON.
CREATE TABLE application_commands (
    id             BIGINT PRIMARY KEY,
    application_id BIGINT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    guild_id       BIGINT REFERENCES guilds (id) ON DELETE CASCADE,
    scope          BIGINT NOT NULL,
    kind           INTEGER NOT NULL,
    name           TEXT NOT NULL,
    version        BIGINT NOT NULL,
    data           TEXT NOT NULL
);
CREATE UNIQUE INDEX application_commands_name ON application_commands (application_id, scope, kind, name);

-- Command permissions in a guild: `target_id` is a command id, or the application id for the
-- permissions of every command without its own. `permissions` is the JSON array.
CREATE TABLE application_command_permissions (
    application_id BIGINT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    guild_id       BIGINT NOT NULL REFERENCES guilds (id) ON DELETE CASCADE,
    target_id      BIGINT NOT NULL,
    permissions    TEXT NOT NULL,
    PRIMARY KEY (guild_id, target_id)
);
CREATE INDEX application_command_permissions_app ON application_command_permissions (application_id, guild_id);

-- Interactions (developers/interactions/receiving-and-responding.mdx): one row per interaction
-- a user triggered, with its token (valid 15 minutes), who and where, and whether (and with
-- which callback type) the application answered. `metadata` is the JSON its response messages
-- carry (`interaction_metadata` and the deprecated `interaction`); `modal` the modal it showed.
CREATE TABLE interactions (
    id                  BIGINT PRIMARY KEY,
    application_id      BIGINT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    kind                INTEGER NOT NULL,
    token               TEXT NOT NULL,
    user_id             BIGINT NOT NULL,
    guild_id            BIGINT,
    channel_id          BIGINT,
    session_id          TEXT,
    nonce               TEXT,
    metadata            TEXT NOT NULL,
    created_ms          BIGINT NOT NULL,
    responded           INTEGER NOT NULL DEFAULT 0,
    original_message_id BIGINT,
    modal               TEXT
);

-- The interaction a message answers (kept beside the message so the messages table is unchanged).
CREATE TABLE message_interactions (
    message_id     BIGINT PRIMARY KEY,
    interaction_id BIGINT NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
    data           TEXT NOT NULL
);
