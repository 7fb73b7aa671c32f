-- API keys: only a keyed hash (HMAC-SHA256 with the server pepper) of each key is stored.
CREATE TABLE api_keys (
    id uuid PRIMARY KEY,
    prefix text NOT NULL UNIQUE,
    key_hash bytea NOT NULL,
    name text NOT NULL,
    role text NOT NULL CHECK (role IN ('trigger', 'action', 'core', 'admin', 'user')),
    communities text[] NOT NULL CHECK (cardinality(communities) > 0),
    module_id text,
    rate_limit text,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    last_used_at timestamptz,
    revoked_at timestamptz,
    rotated_to uuid REFERENCES api_keys (id)
);

CREATE INDEX api_keys_communities ON api_keys USING gin (communities);
