-- Webhook subscriptions and their delivery log. The secret is kept as given
-- out (HMAC signing needs the key itself); only tenant administrators with
-- `platform.webhook.manage` reach these rows through the API.

CREATE TABLE webhook_subscriptions (
    id          UUID        NOT NULL,
    tenant_id   UUID        NOT NULL,
    url         TEXT        NOT NULL,
    event_types TEXT[]      NOT NULL,
    secret      TEXT        NOT NULL,
    active      BOOLEAN     NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT webhook_subscriptions_pkey PRIMARY KEY (id)
);

-- The fan-out reads a tenant's active subscriptions for every event.
CREATE INDEX webhook_subscriptions_tenant_idx ON webhook_subscriptions (tenant_id, created_at, id);

CREATE TABLE webhook_deliveries (
    id              UUID        NOT NULL,
    subscription_id UUID        NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    tenant_id       UUID        NOT NULL,
    event_id        UUID        NOT NULL,
    event_type      TEXT        NOT NULL,
    body            TEXT        NOT NULL,
    trace_parent    TEXT,
    status          TEXT        NOT NULL,
    attempts        INTEGER     NOT NULL,
    response_status INTEGER,
    duration_ms     BIGINT,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id),
    -- One delivery per event and subscription: the fan-out's idempotency.
    CONSTRAINT webhook_deliveries_event_key UNIQUE (subscription_id, event_id),
    CONSTRAINT webhook_deliveries_status_check CHECK (status IN ('pending', 'succeeded', 'failed'))
);

-- The delivery log, newest first.
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (subscription_id, created_at DESC, id DESC);
