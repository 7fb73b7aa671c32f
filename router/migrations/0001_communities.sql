-- Communities and the platform channels that belong to them (SPEC §8).
CREATE TABLE communities (
    id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE community_channels (
    platform text NOT NULL,
    channel_id text NOT NULL,
    community_id text NOT NULL REFERENCES communities (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, channel_id)
);

CREATE INDEX community_channels_community ON community_channels (community_id);
