-- Who may read an account's token through the app: 'allow' (anyone running as you, the default),
-- 'ask' (the person is asked in the window each time), 'deny' (nobody).
ALTER TABLE accounts ADD COLUMN policy TEXT NOT NULL DEFAULT 'allow'
    CHECK (policy IN ('allow', 'ask', 'deny'));

-- Approvals the person gave that outlive the app (session ones live in the app's memory only):
-- 'git' = "always allow git for this account".
CREATE TABLE standing_approvals (
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('git')),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, purpose)
);
