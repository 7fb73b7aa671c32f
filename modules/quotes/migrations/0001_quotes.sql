-- Quotes, kept per community; numbers count up within each community.
CREATE TABLE quotes (
    id           bigserial PRIMARY KEY,
    community_id text NOT NULL,
    number       integer NOT NULL,
    text         text NOT NULL CHECK (char_length(text) BETWEEN 1 AND 500),
    added_by     text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (community_id, number)
);
