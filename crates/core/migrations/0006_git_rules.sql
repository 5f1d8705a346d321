-- Which account git uses at a host, under a repository path ('' = the whole host; else 'acme/').
-- No foreign key: a rule whose account was disconnected stays, so git can say what happened.
CREATE TABLE git_rules (
    host               TEXT NOT NULL,
    path               TEXT NOT NULL DEFAULT '',
    account_id         TEXT NOT NULL,
    -- setup-git turned on credential.useHttpPath for it (its --undo turns it off again).
    set_use_http_path  INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    PRIMARY KEY (host, path)
);
