-- Each instance records the key that registered it and that key's community scope: the
-- instance serves only those communities. Instances registered before ownership was recorded
-- are dropped, so their modules register again (a heartbeat answers 404) under a bound key.
DELETE FROM registry_instances;
ALTER TABLE registry_instances
    ADD COLUMN owner_key_id text,
    ADD COLUMN communities  jsonb NOT NULL DEFAULT '[]';
