-- Files uploaded through the platform: the metadata of blobs in the blob
-- store. The owner is not a foreign key (files outlive deleted accounts, as
-- posts do); a file attached to another module's resource names it by
-- (module, resource_type, resource_id), so the files module owns no other
-- module's rows and any module can attach files.

CREATE TABLE files (
    id            UUID        NOT NULL,
    tenant_id     UUID        NOT NULL,
    owner_id      UUID        NOT NULL,
    filename      TEXT        NOT NULL,
    content_type  TEXT        NOT NULL,
    size          BIGINT      NOT NULL,
    sha256        TEXT        NOT NULL,
    blob_key      TEXT        NOT NULL,
    module        TEXT,
    resource_type TEXT,
    resource_id   TEXT,
    purpose       TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT files_pkey PRIMARY KEY (id),
    CONSTRAINT files_blob_key_key UNIQUE (blob_key),
    CONSTRAINT files_size_check CHECK (size >= 0),
    -- Attached to all four, or to nothing.
    CONSTRAINT files_attachment_check CHECK (
        (module IS NULL) = (resource_type IS NULL)
        AND (module IS NULL) = (resource_id IS NULL)
        AND (module IS NULL) = (purpose IS NULL)
    )
);

-- A resource's attachments (listed with it, deleted with it).
CREATE INDEX files_attached_idx ON files (tenant_id, module, resource_type, resource_id)
    WHERE module IS NOT NULL;
