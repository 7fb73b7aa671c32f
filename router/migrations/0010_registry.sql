-- The module registry: what each module declares, which names it claims, where its instances run.
CREATE TABLE registry_modules (
    module_id      text PRIMARY KEY,
    module_version text NOT NULL,
    module_type    text NOT NULL,
    endpoints      jsonb NOT NULL DEFAULT '[]',
    actions        jsonb NOT NULL DEFAULT '[]',
    commands       jsonb NOT NULL DEFAULT '[]',
    subscriptions  jsonb NOT NULL DEFAULT '[]',
    registered_at  timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Action ids and command names are unique across modules: the primary key enforces it.
CREATE TABLE registry_claims (
    kind      text NOT NULL CHECK (kind IN ('action', 'command')),
    name      text NOT NULL,
    module_id text NOT NULL REFERENCES registry_modules (module_id) ON DELETE CASCADE,
    PRIMARY KEY (kind, name)
);
CREATE INDEX registry_claims_module ON registry_claims (module_id);

CREATE TABLE registry_instances (
    module_id        text NOT NULL REFERENCES registry_modules (module_id) ON DELETE CASCADE,
    instance_id      text NOT NULL,
    base_url         text NOT NULL,
    health_check     text NOT NULL,
    registered_at    timestamptz NOT NULL DEFAULT now(),
    lease_expires_at timestamptz NOT NULL,
    PRIMARY KEY (module_id, instance_id)
);
CREATE INDEX registry_instances_lease ON registry_instances (lease_expires_at);
