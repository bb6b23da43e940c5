-- Published posts per author: the read model the blog's example subscriber
-- keeps from blog.post.published events (idempotent through processed_events).

CREATE TABLE author_stats (
    tenant_id       UUID   NOT NULL,
    author_id       UUID   NOT NULL,
    published_posts BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT author_stats_pkey PRIMARY KEY (tenant_id, author_id)
);
