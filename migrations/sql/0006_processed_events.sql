-- Idempotent consumers: which events each subscriber has handled. A handler
-- inserts its row in the same transaction as its effect, so a redelivered
-- event finds the row and is skipped, and a failed handler leaves none.

CREATE TABLE processed_events (
    subscriber   TEXT        NOT NULL,
    event_id     UUID        NOT NULL,
    processed_at TIMESTAMPTZ NOT NULL DEFAULT statement_timestamp(),
    CONSTRAINT processed_events_pkey PRIMARY KEY (subscriber, event_id)
);

-- Purging forgets rows older than any redelivery the broker could still make.
CREATE INDEX processed_events_processed_at_idx ON processed_events (processed_at);
