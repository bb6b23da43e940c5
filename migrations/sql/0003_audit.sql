-- The append-only audit log.
--
-- The application role usually owns its tables, and an owner cannot have
-- UPDATE or DELETE revoked from itself; a trigger refuses them instead (and
-- TRUNCATE), so not even a stray manual statement rewrites history.

CREATE TABLE audit_log (
    id          UUID        NOT NULL,
    tenant_id   UUID        NOT NULL,
    actor_id    UUID,
    action      TEXT        NOT NULL,
    target_id   TEXT,
    metadata    JSONB       NOT NULL DEFAULT '{}'::jsonb,
    occurred_at TIMESTAMPTZ NOT NULL,
    request_id  TEXT,
    ip          TEXT,
    user_agent  TEXT,
    CONSTRAINT audit_log_pkey PRIMARY KEY (id)
);

-- Newest-first keyset paging per tenant; the two filters admins use most.
CREATE INDEX audit_log_tenant_time_idx ON audit_log (tenant_id, occurred_at DESC, id DESC);
CREATE INDEX audit_log_tenant_actor_idx ON audit_log (tenant_id, actor_id, occurred_at DESC)
    WHERE actor_id IS NOT NULL;
CREATE INDEX audit_log_tenant_target_idx ON audit_log (tenant_id, target_id, occurred_at DESC)
    WHERE target_id IS NOT NULL;

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
