-- Who read a token: the consumer of a `token_read` entry, as the system showed it (never a token).
ALTER TABLE audit_events ADD COLUMN read_kind TEXT;     -- token | exec | git_credential | test
ALTER TABLE audit_events ADD COLUMN pid INTEGER;        -- the latest reader's process id
ALTER TABLE audit_events ADD COLUMN exe TEXT;
ALTER TABLE audit_events ADD COLUMN parent_exe TEXT;
ALTER TABLE audit_events ADD COLUMN cwd TEXT;
ALTER TABLE audit_events ADD COLUMN tty TEXT;
-- Repeated reads by the same consumer within a minute of each other fold into one entry.
ALTER TABLE audit_events ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit_events ADD COLUMN last_at INTEGER;    -- Unix ms of the latest read folded in

CREATE INDEX audit_events_reads ON audit_events (account_id, last_at) WHERE read_kind IS NOT NULL;

-- Still append-only, with two narrow exceptions: a token read may be counted again (nothing
-- else of it changes), and entries past retention (90 days, or beyond the newest 10,000) go.
-- The age check here allows 89 days: SQLite's clock is read in whole seconds, the app's in ms.
DROP TRIGGER audit_events_append_only_update;
CREATE TRIGGER audit_events_append_only_update BEFORE UPDATE ON audit_events
WHEN NOT (
    old.read_kind IS NOT NULL
    AND new.id = old.id AND new.at = old.at AND new.kind = old.kind
    AND new.account_id IS old.account_id AND new.provider_id IS old.provider_id
    AND new.detail = old.detail AND new.read_kind = old.read_kind
    AND new.exe IS old.exe AND new.parent_exe IS old.parent_exe
    AND new.cwd IS old.cwd AND new.tty IS old.tty
    AND new.count = old.count + 1 AND new.last_at >= old.last_at
)
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

DROP TRIGGER audit_events_append_only_delete;
CREATE TRIGGER audit_events_append_only_delete BEFORE DELETE ON audit_events
WHEN coalesce(old.last_at, old.at) >= CAST(strftime('%s', 'now') AS INTEGER) * 1000 - 7689600000
    AND old.id > (SELECT max(id) FROM audit_events) - 10000
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
