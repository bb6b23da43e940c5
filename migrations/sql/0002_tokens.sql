-- Refresh tokens and single-use mailed tokens, stored only as hashes.
--
-- Neither table references users: tokens are looked up by hash alone, and a
-- token outliving its user is harmless (the user lookup at refresh fails).

CREATE TABLE refresh_tokens (
    id          UUID        NOT NULL,
    family_id   UUID        NOT NULL,
    user_id     UUID        NOT NULL,
    tenant_id   UUID        NOT NULL,
    token_hash  TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    rotated_at  TIMESTAMPTZ,
    replaced_by UUID,
    revoked_at  TIMESTAMPTZ,
    CONSTRAINT refresh_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash)
);

CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);

CREATE TABLE verification_tokens (
    token_hash TEXT        NOT NULL,
    purpose    TEXT        NOT NULL,
    user_id    UUID        NOT NULL,
    tenant_id  UUID        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    CONSTRAINT verification_tokens_pkey PRIMARY KEY (token_hash),
    CONSTRAINT verification_tokens_purpose_check
        CHECK (purpose IN ('email_verification', 'password_reset'))
);

CREATE INDEX verification_tokens_unused_idx ON verification_tokens (user_id, purpose)
    WHERE used_at IS NULL;
CREATE INDEX verification_tokens_expires_idx ON verification_tokens (expires_at);
