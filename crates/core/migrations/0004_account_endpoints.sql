-- The endpoint set (issuer, token, revocation, user endpoint) each account was connected with:
-- its tokens are sent only there. NULL for accounts connected before; recorded at first use.
ALTER TABLE accounts ADD COLUMN endpoints TEXT;
-- Whether the account's keychain entry carries the attributes revoking it needs (provider,
-- client id, issuer, revocation endpoint). Entries written before are tagged at the first start.
ALTER TABLE accounts ADD COLUMN keychain_tagged INTEGER NOT NULL DEFAULT 0;
-- Whether the provider said the account's e-mail is verified: only then is it a lookup key.
ALTER TABLE accounts ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
