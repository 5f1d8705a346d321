-- Built-in providers (from the embedded catalog) get a row once configured, so accounts can
-- reference them; `profile` names the catalog entry and `params` its settings (e.g. a GitLab URL).
ALTER TABLE providers ADD COLUMN profile TEXT;
ALTER TABLE providers ADD COLUMN params TEXT NOT NULL DEFAULT '{}';
ALTER TABLE providers ADD COLUMN device_endpoint TEXT;
