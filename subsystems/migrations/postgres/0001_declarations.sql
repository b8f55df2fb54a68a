-- A subsystem's declarations (SPEC §4), their attachments and every state change.
-- Times are Unix seconds; values are the JSON object of the form's field values.

CREATE TABLE declarations (
    id TEXT PRIMARY KEY NOT NULL,
    form_code TEXT NOT NULL,
    owner_sub TEXT NOT NULL,
    owner_name TEXT NOT NULL,
    org_id TEXT,
    org_name TEXT,
    title TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('draft', 'submitted', 'returned', 'approved')),
    field_values TEXT NOT NULL,
    return_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    submitted_at BIGINT
);
CREATE INDEX declarations_by_owner ON declarations (owner_sub, updated_at);
CREATE INDEX declarations_by_state ON declarations (state, submitted_at);

CREATE TABLE declaration_transitions (
    id BIGSERIAL PRIMARY KEY,
    declaration_id TEXT NOT NULL REFERENCES declarations (id),
    actor_sub TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    reason TEXT,
    at BIGINT NOT NULL
);
CREATE INDEX declaration_transitions_by_declaration ON declaration_transitions (declaration_id, id);

CREATE TABLE attachments (
    id TEXT PRIMARY KEY NOT NULL,
    declaration_id TEXT NOT NULL REFERENCES declarations (id),
    slot TEXT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    storage_key TEXT NOT NULL UNIQUE,
    uploaded_by TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL
);
CREATE INDEX attachments_by_declaration ON attachments (declaration_id, slot, uploaded_at);
