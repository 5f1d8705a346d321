-- How long a sign-in lasts, and what the person was told about it.
-- When the sign-in (its refresh token) ends however it is used, Unix ms: from the server's
-- refresh_token_expires_in, or the provider's sign-in limit. NULL: nobody says.
ALTER TABLE accounts ADD COLUMN sign_in_ends_at INTEGER;
-- When an unused sign-in would end (the provider expires idle refresh tokens), Unix ms, and
-- when the refresh token was last issued or used: a refresh halfway between keeps it alive.
ALTER TABLE accounts ADD COLUMN idle_ends_at INTEGER;
ALTER TABLE accounts ADD COLUMN grant_used_at INTEGER;
-- The last "sign-in ends" warning given, in days before the end (7 or 1), so none repeats.
ALTER TABLE accounts ADD COLUMN ending_notified INTEGER;
-- When the person was told refreshing fails (Unix ms); cleared when it heals.
ALTER TABLE accounts ADD COLUMN failing_notified_at INTEGER;
-- The person's own limits for a provider, in seconds, over its profile's.
ALTER TABLE providers ADD COLUMN sign_in_max_secs INTEGER;
ALTER TABLE providers ADD COLUMN refresh_idle_secs INTEGER;
