-- API keys. Only the SHA-256 hash of a secret is stored: secrets are 32 random bytes, so a
-- fast hash cannot be brute-forced and lets a request find its key by an index lookup.
-- Revoked keys stay (revoked_at set) so an audit can still name them.
CREATE TABLE api_keys (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    secret_hash bytea NOT NULL UNIQUE,
    permissions jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    rotated_at  timestamptz,
    revoked_at  timestamptz
);
