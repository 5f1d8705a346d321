-- One person has one account per resource at a server (RFC 8707: an account connected by an
-- API's URL holds tokens for that API alone), so an account is (provider, subject, resource),
-- not (provider, subject). SQLite cannot drop a table constraint, so the table is rebuilt. sqlx
-- runs a migration inside a transaction, where foreign keys cannot be switched off: their checks
-- are deferred to the commit instead, and the approvals that dropping the old table cascades away
-- are put back.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE accounts_new (
    id                  TEXT PRIMARY KEY NOT NULL,
    provider_id         TEXT NOT NULL REFERENCES providers(id),
    subject             TEXT,
    display_name        TEXT NOT NULL DEFAULT '',
    email               TEXT,
    scopes_requested    TEXT NOT NULL DEFAULT '[]',
    scopes_granted      TEXT NOT NULL DEFAULT '[]',
    scopes_source       TEXT NOT NULL DEFAULT 'requested' CHECK (scopes_source IN ('server', 'requested')),
    status              TEXT NOT NULL CHECK (status IN ('connected', 'offline', 'needs_reconnect', 'error',
                                                        'connecting', 'refreshing', 'disconnecting')),
    expires_at          INTEGER,
    last_error          TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    endpoints           TEXT,
    keychain_tagged     INTEGER NOT NULL DEFAULT 0,
    email_verified      INTEGER NOT NULL DEFAULT 0,
    sign_in_ends_at     INTEGER,
    idle_ends_at        INTEGER,
    grant_used_at       INTEGER,
    ending_notified     INTEGER,
    failing_notified_at INTEGER,
    policy              TEXT NOT NULL DEFAULT 'allow' CHECK (policy IN ('allow', 'ask', 'deny')),
    -- The resource (RFC 8707) its tokens are for, when connected by an API's URL; its test call
    -- goes there. NULL: the provider's own API.
    resource            TEXT
);
INSERT INTO accounts_new (id, provider_id, subject, display_name, email, scopes_requested,
    scopes_granted, scopes_source, status, expires_at, last_error, created_at, updated_at,
    endpoints, keychain_tagged, email_verified, sign_in_ends_at, idle_ends_at, grant_used_at,
    ending_notified, failing_notified_at, policy)
SELECT id, provider_id, subject, display_name, email, scopes_requested,
    scopes_granted, scopes_source, status, expires_at, last_error, created_at, updated_at,
    endpoints, keychain_tagged, email_verified, sign_in_ends_at, idle_ends_at, grant_used_at,
    ending_notified, failing_notified_at, policy
FROM accounts;
CREATE TEMP TABLE kept_approvals AS SELECT * FROM standing_approvals;
DROP TABLE accounts;
ALTER TABLE accounts_new RENAME TO accounts;
INSERT INTO standing_approvals SELECT * FROM kept_approvals;
DROP TABLE kept_approvals;
CREATE INDEX accounts_status ON accounts(status);
CREATE UNIQUE INDEX accounts_identity ON accounts(provider_id, subject, IFNULL(resource, ''));
