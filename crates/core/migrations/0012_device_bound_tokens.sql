-- The server's dpop_signing_alg_values_supported (JSON array) for a provider added by URL: the
-- app binds tokens to this device (DPoP, RFC 9449) where ES256 is among them.
ALTER TABLE providers ADD COLUMN dpop_algs TEXT;
-- The account's tokens are bound to a key that lives beside them in the keychain entry: they
-- are used through the app (`request`) and never handed out (`token`, `exec`, git).
ALTER TABLE accounts ADD COLUMN dpop_bound INTEGER NOT NULL DEFAULT 0;
