-- How the app authenticates to a provider added by URL: 'none' (a public client, PKCE only), or
-- the secret the server issued at dynamic registration (kept in the keychain).
ALTER TABLE providers ADD COLUMN client_auth TEXT NOT NULL DEFAULT 'none'
    CHECK (client_auth IN ('none', 'client_secret_basic', 'client_secret_post'));
-- The exact redirect URIs registered for this provider (JSON array); NULL: the app's defaults
-- (loopback on any port, and the custom scheme).
ALTER TABLE providers ADD COLUMN redirect_uris TEXT;
-- Set when the app registered itself (RFC 7591): where to register again. The registration's
-- access token and URI are in the keychain, never here.
ALTER TABLE providers ADD COLUMN registration_endpoint TEXT;
-- When the issued client secret expires (Unix seconds); NULL: never.
ALTER TABLE providers ADD COLUMN client_secret_expires_at INTEGER;
-- The scopes the registration allows (JSON array); some servers cap requests at these.
ALTER TABLE providers ADD COLUMN registered_scopes TEXT;
-- The server's prompt_values_supported (JSON array), for "connect another account".
ALTER TABLE providers ADD COLUMN prompt_values TEXT;

