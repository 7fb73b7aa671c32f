-- The append-only, hash-chained audit trail (SPEC §10).
CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    uid uuid NOT NULL UNIQUE,
    "timestamp" timestamptz NOT NULL,
    category text NOT NULL,
    module text NOT NULL,
    version text NOT NULL,
    community text,
    "user" text,
    action text NOT NULL,
    result text NOT NULL,
    reason text,
    correlation_id text,
    details json,
    content_hash text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL
);

CREATE INDEX audit_log_community_id ON audit_log (community, id DESC);
CREATE INDEX audit_log_category_id ON audit_log (category, id DESC);

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END;
$$;

CREATE TRIGGER audit_log_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
