-- A key belongs to one namespace (a tenant): its names are resolved inside it (stored as
-- namespace%name). '' is the default namespace, where names are stored as they are.
ALTER TABLE api_keys ADD COLUMN namespace text NOT NULL DEFAULT '';
