-- Blog posts. The author is not a foreign key: posts outlive deleted
-- accounts, and the blog module owns no user rows.

CREATE TABLE posts (
    id           UUID        NOT NULL,
    tenant_id    UUID        NOT NULL,
    author_id    UUID        NOT NULL,
    title        TEXT        NOT NULL,
    content      TEXT        NOT NULL,
    status       TEXT        NOT NULL,
    tags         TEXT[]      NOT NULL DEFAULT '{}',
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ,
    CONSTRAINT posts_pkey PRIMARY KEY (id),
    CONSTRAINT posts_status_check CHECK (status IN ('draft', 'published', 'archived'))
);

-- Newest-first keyset paging per tenant; tag filter.
CREATE INDEX posts_tenant_created_idx ON posts (tenant_id, created_at DESC, id DESC);
CREATE INDEX posts_tags_idx ON posts USING GIN (tags);
