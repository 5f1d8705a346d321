-- Metadata only: no token, secret or password ever lands in this database.

CREATE TABLE providers (
    id                       TEXT PRIMARY KEY NOT NULL,
    name                     TEXT NOT NULL,
    issuer                   TEXT NOT NULL,
    client_id                TEXT NOT NULL,
    scopes                   TEXT NOT NULL,           -- JSON array of scopes requested by default
    authorization_endpoint   TEXT NOT NULL,
    token_endpoint           TEXT NOT NULL,
    userinfo_endpoint        TEXT,
    revocation_endpoint      TEXT,
    jwks_uri                 TEXT NOT NULL,
    iss_parameter_supported  INTEGER NOT NULL DEFAULT 0,
    created_at               INTEGER NOT NULL         -- Unix ms
);

CREATE TABLE accounts (
    id                TEXT PRIMARY KEY NOT NULL,
    provider_id       TEXT NOT NULL REFERENCES providers(id),
    subject           TEXT,                          -- NULL while the first connect is in flight
    display_name      TEXT NOT NULL DEFAULT '',
    email             TEXT,
    scopes_requested  TEXT NOT NULL DEFAULT '[]',   -- JSON array
    scopes_granted    TEXT NOT NULL DEFAULT '[]',   -- JSON array
    scopes_source     TEXT NOT NULL DEFAULT 'requested' CHECK (scopes_source IN ('server', 'requested')),
    -- The settled state, or the intent of a multi-step operation under way.
    status            TEXT NOT NULL CHECK (status IN ('connected', 'offline', 'needs_reconnect', 'error',
                                                      'connecting', 'refreshing', 'disconnecting')),
    expires_at        INTEGER,                       -- Unix ms of the access token's expiry
    last_error        TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    UNIQUE (provider_id, subject)
);

CREATE INDEX accounts_status ON accounts(status);

CREATE TABLE audit_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           INTEGER NOT NULL,                   -- Unix ms
    kind         TEXT NOT NULL,
    account_id   TEXT,
    provider_id  TEXT,
    detail       TEXT NOT NULL DEFAULT ''
);

CREATE TRIGGER audit_events_append_only_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_events_append_only_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
