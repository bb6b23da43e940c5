-- Users, roles, their permissions and who holds them.
--
-- Every tenant-scoped table carries tenant_id, and rows that point at each
-- other do so through (tenant_id, id) pairs, so the database itself refuses
-- an assignment that crosses tenants. Constraint names are part of the
-- adapter's contract: it maps unique violations to conflicts by name.

CREATE TABLE users (
    id             UUID        NOT NULL,
    tenant_id      UUID        NOT NULL,
    -- Stored normalized (trimmed, lower-cased) by the application.
    email          TEXT        NOT NULL,
    display_name   TEXT,
    password_hash  TEXT        NOT NULL,
    email_verified BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_tenant_email_key UNIQUE (tenant_id, email),
    -- Target of the tenant-safe foreign keys; also the keyset-paging index.
    CONSTRAINT users_tenant_id_key UNIQUE (tenant_id, id)
);

CREATE TABLE roles (
    id          UUID        NOT NULL,
    tenant_id   UUID        NOT NULL,
    name        TEXT        NOT NULL,
    description TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT roles_pkey PRIMARY KEY (id),
    CONSTRAINT roles_tenant_name_key UNIQUE (tenant_id, name),
    CONSTRAINT roles_tenant_id_key UNIQUE (tenant_id, id)
);

CREATE TABLE role_permissions (
    tenant_id  UUID    NOT NULL,
    role_id    UUID    NOT NULL,
    permission TEXT    NOT NULL,
    -- A role's permissions come back in the order they were given.
    position   INTEGER NOT NULL,
    CONSTRAINT role_permissions_pkey PRIMARY KEY (role_id, permission),
    CONSTRAINT role_permissions_role_fkey FOREIGN KEY (tenant_id, role_id)
        REFERENCES roles (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE user_roles (
    tenant_id UUID NOT NULL,
    user_id   UUID NOT NULL,
    role_id   UUID NOT NULL,
    CONSTRAINT user_roles_pkey PRIMARY KEY (user_id, role_id),
    CONSTRAINT user_roles_user_fkey FOREIGN KEY (tenant_id, user_id)
        REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT user_roles_role_fkey FOREIGN KEY (tenant_id, role_id)
        REFERENCES roles (tenant_id, id) ON DELETE CASCADE
);

-- Who holds a role (permission-cache invalidation, the role filter of user lists).
CREATE INDEX user_roles_role_idx ON user_roles (role_id, user_id);
