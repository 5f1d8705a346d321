-- The app's own settings (not a provider's): one row per setting that differs from its default.
CREATE TABLE app_settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
