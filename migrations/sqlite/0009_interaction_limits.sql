-- Application command creates (developers/topics/opcodes-and-status-codes.mdx, 30034: "Max
-- number of daily application command creates has been reached (200)"): one row per command an
-- application created in a scope (the guild id, 0 for global), by POST or bulk overwrite, so the
-- creates of the last rolling day can be counted. Rows older than a day are removed as new ones
-- are written.
CREATE TABLE application_command_creates (
    application_id BIGINT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    scope          BIGINT NOT NULL,
    created_ms     BIGINT NOT NULL
);
CREATE INDEX application_command_creates_scope ON application_command_creates (application_id, scope, created_ms);

-- Interaction tokens are no longer stored, only their SHA-256 digest (hex), looked up by digest.
-- SQLite has no SHA-256 function: tokens issued before this migration (valid 15 minutes at
-- most) are dropped rather than kept in plaintext, so they stop working.
ALTER TABLE interactions RENAME COLUMN token TO token_hash;
UPDATE interactions SET token_hash = '';
CREATE INDEX interactions_token_hash ON interactions (application_id, token_hash);
