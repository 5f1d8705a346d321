-- RFC 9126: where a discovered server takes pushed authorization requests, and whether it
-- requires them. Providers added before this know neither until they are added again.
ALTER TABLE providers ADD COLUMN par_endpoint TEXT;
ALTER TABLE providers ADD COLUMN require_par INTEGER NOT NULL DEFAULT 0;
