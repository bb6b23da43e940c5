-- Row-level security: the database's own tenant wall, behind the tenant
-- filter every repository query already has.
--
-- The platform's connections act as `platform_app` (`database.app_role`),
-- which owns nothing and is no superuser, so the policies bind it. A
-- transaction sees a tenant's rows only while `app.tenant_id` names that
-- tenant; the adapter sets it (`set_config(…, true)`, transaction-local)
-- from the tenant each repository method is given. Paths that must cross
-- tenants set `app.bypass` to a reason instead, and each table accepts only
-- the reasons it needs (the `named_bypass` policies below; the README lists
-- them). With neither setting, a statement sees no row and writes none.
--
-- FORCE makes the tables' owner obey the policies too; superusers never do,
-- and referential and unique checks are not filtered (a unique index still
-- refuses a clash with another tenant's row).

-- The role is cluster-wide: create it once. Concurrent migrations of other
-- schemas may race to create it; the loser finds it made.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'platform_app') THEN
        BEGIN
            CREATE ROLE platform_app NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END
$$;

-- What the platform does, and no more: it never truncates, never changes
-- the append-only audit tables, and only reads the migrations' bookkeeping.
DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO platform_app', current_schema());
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO platform_app', current_schema());
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO platform_app', current_schema());
    -- Tables and sequences later migrations create get the same grants.
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO platform_app', current_schema());
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO platform_app', current_schema());
END
$$;
REVOKE UPDATE, DELETE ON audit_log, audit_checkpoint FROM platform_app;
REVOKE INSERT, UPDATE, DELETE ON _sqlx_migrations FROM platform_app;

-- Every table with a tenant column, whichever migration made it: its rows
-- belong to the tenant in `app.tenant_id`, and no write may move a row to
-- another tenant (WITH CHECK). An unset setting is NULL or '' and matches
-- nothing.
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN
        SELECT c.oid::regclass
        FROM pg_class c
        JOIN pg_attribute a ON a.attrelid = c.oid
        WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
          AND c.relkind IN ('r', 'p')
          AND a.attname = 'tenant_id'
          AND NOT a.attisdropped
    LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %s '
            'USING (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid) '
            'WITH CHECK (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)',
            t
        );
    END LOOP;
END
$$;

-- The named bypasses, each on the tables its path needs (see the adapter's
-- `Bypass`): token lookups by hash or id, the outbox relay, the batched
-- audit writer, webhook delivery jobs, and maintenance (expired-token
-- purges, the orphan-blob sweep, the list of chained tenants), and the
-- weekly digest's list of tenants.
CREATE POLICY named_bypass ON refresh_tokens
    USING (current_setting('app.bypass', true) IN ('token_lookup', 'maintenance'));
CREATE POLICY named_bypass ON verification_tokens
    USING (current_setting('app.bypass', true) IN ('token_lookup', 'maintenance'));
CREATE POLICY named_bypass ON api_keys
    USING (current_setting('app.bypass', true) = 'token_lookup');
CREATE POLICY named_bypass ON outbox
    USING (current_setting('app.bypass', true) = 'outbox_relay');
CREATE POLICY named_bypass ON audit_log
    USING (current_setting('app.bypass', true) = 'audit_writer');
CREATE POLICY named_bypass ON audit_chain
    USING (current_setting('app.bypass', true) IN ('audit_writer', 'maintenance'));
CREATE POLICY named_bypass ON webhook_deliveries
    USING (current_setting('app.bypass', true) = 'webhook_delivery');
CREATE POLICY named_bypass ON files
    FOR SELECT USING (current_setting('app.bypass', true) = 'maintenance');
-- The weekly digest lists the tenants that have an opted-in user.
CREATE POLICY named_bypass ON users
    FOR SELECT USING (current_setting('app.bypass', true) = 'digest');
