-- The tamper-evident audit chain.
--
-- Every entry gets its tenant's next sequence number, the hash of the entry
-- before it and its own hash (SHA-256 of a canonical encoding, computed by
-- the application: see `platform_ports::audit::chain`). The links are
-- assigned in commit order under a per-tenant row lock on `audit_chain`, so
-- concurrent writers (units of work, the batched writer, several instances)
-- still build one line per tenant.
--
-- Entries written before this migration keep NULL links: they are outside
-- the chain (the trigger of 0003 forbids filling them in, and a backfill
-- would have to hash them exactly as the application does).

ALTER TABLE audit_log
    ADD COLUMN seq       BIGINT,
    ADD COLUMN prev_hash BYTEA,
    ADD COLUMN hash      BYTEA,
    ADD CONSTRAINT audit_log_link_whole CHECK (
        (seq IS NULL AND prev_hash IS NULL AND hash IS NULL)
        OR (seq > 0 AND octet_length(prev_hash) = 32 AND octet_length(hash) = 32)
    );

-- The verifier's walk, and no two entries in one place of a chain.
CREATE UNIQUE INDEX audit_log_tenant_seq_key ON audit_log (tenant_id, seq) WHERE seq IS NOT NULL;

-- Each tenant's newest link. Appenders lock the row (`FOR UPDATE`) from
-- taking the head to commit: that lock is what makes the chain linear.
CREATE TABLE audit_chain (
    tenant_id  UUID        NOT NULL,
    seq        BIGINT      NOT NULL,
    hash       BYTEA       NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT audit_chain_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT audit_chain_hash_len CHECK (octet_length(hash) = 32)
);

-- Chain heads signed with `audit.checkpoint_key` (HMAC-SHA-256) by the
-- audit module's cron job: the database cannot forge one, so removing the
-- newest entries (and rewinding `audit_chain`) is detected.
CREATE TABLE audit_checkpoint (
    tenant_id UUID        NOT NULL,
    seq       BIGINT      NOT NULL,
    hash      BYTEA       NOT NULL,
    mac       BYTEA       NOT NULL,
    signed_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT audit_checkpoint_pkey PRIMARY KEY (tenant_id, seq)
);

-- Checkpoints are append-only like the log itself.
CREATE TRIGGER audit_checkpoint_append_only
    BEFORE UPDATE OR DELETE ON audit_checkpoint
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

CREATE TRIGGER audit_checkpoint_no_truncate
    BEFORE TRUNCATE ON audit_checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
