-- The epoch of the Redis data each keyspace (namespace and database) last wrote its marker
-- into. A marker missing from Redis while its row exists means Redis lost its data; no row
-- means the router has never written one (a first start).
CREATE TABLE redis_epoch (
    keyspace   text PRIMARY KEY,
    epoch      text NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now()
);
