-- The digest of new posts: who asked for it, and the end of the last
-- period whose digest was queued for them (so a re-run of a tick skips
-- them). The bookkeeping column is not part of the profile: a profile
-- update never writes it, and the digest never writes the profile.

ALTER TABLE users
    ADD COLUMN digest            BOOLEAN     NOT NULL DEFAULT FALSE,
    ADD COLUMN digest_period_end TIMESTAMPTZ;

-- The tick walks each tenant's opted-in users in id order.
CREATE INDEX users_digest_idx ON users (tenant_id, id) WHERE digest;

-- Posts published in a window, per tenant.
CREATE INDEX posts_published_idx ON posts (tenant_id, published_at) WHERE status = 'published';
