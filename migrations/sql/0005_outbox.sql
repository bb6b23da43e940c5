-- The transactional outbox. Rows enter with their unit of work and are
-- stamped sent_at by the relay; sent rows stay for inspection until purged.

CREATE TABLE outbox (
    -- Insertion order, which is commit order for writers that serialise on
    -- the aggregate's row; the relay publishes by it.
    seq          BIGINT      GENERATED ALWAYS AS IDENTITY,
    id           UUID        NOT NULL,
    tenant_id    UUID        NOT NULL,
    topic        TEXT        NOT NULL,
    event_id     UUID        NOT NULL,
    aggregate_id TEXT,
    -- The whole event as the application serialises it (nanosecond timestamps included).
    event        JSONB       NOT NULL,
    attempts     INTEGER     NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    locked_until TIMESTAMPTZ,
    retry_at     TIMESTAMPTZ,
    last_error   TEXT,
    sent_at      TIMESTAMPTZ,
    CONSTRAINT outbox_pkey PRIMARY KEY (seq),
    CONSTRAINT outbox_id_key UNIQUE (id)
);

-- Only unsent rows are ever scanned by the relay.
CREATE INDEX outbox_unsent_idx ON outbox (seq) WHERE sent_at IS NULL;
CREATE INDEX outbox_unsent_aggregate_idx ON outbox (aggregate_id, seq)
    WHERE sent_at IS NULL AND aggregate_id IS NOT NULL;
CREATE INDEX outbox_sent_idx ON outbox (sent_at) WHERE sent_at IS NOT NULL;
