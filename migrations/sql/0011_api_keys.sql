-- API keys for server-to-server calls, stored only as SHA-256 hashes.
--
-- No foreign key to users: a key of a deleted user stays listed (and
-- authenticates with no permissions, since its creator holds none), so the
-- audit trail keeps naming it. Lookups by hash cross tenants (the key names
-- its tenant); everything else filters by tenant.

CREATE TABLE api_keys (
    id           UUID        NOT NULL,
    tenant_id    UUID        NOT NULL,
    name         TEXT        NOT NULL,
    prefix       TEXT        NOT NULL,
    key_hash     TEXT        NOT NULL,
    scopes       TEXT[]      NOT NULL,
    created_by   UUID        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    CONSTRAINT api_keys_pkey PRIMARY KEY (id),
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash)
);

-- The tenant's list, newest first.
CREATE INDEX api_keys_tenant_created_idx ON api_keys (tenant_id, created_at DESC, id DESC);
