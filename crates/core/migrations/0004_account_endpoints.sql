-- The endpoint set (issuer, token, revocation, user endpoint) each account was connected with:
-- its tokens are sent only there. NULL for accounts connected before; recorded at first use.
ALTER TABLE accounts ADD COLUMN endpoints TEXT;
