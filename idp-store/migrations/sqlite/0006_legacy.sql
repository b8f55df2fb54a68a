-- Legacy accounts (issue 6): one row per record imported from an older system (a unit or a
-- person: declarant or expert), the outcome it ended in, and the platform account it belongs
-- to once it has one (by the import itself, by 老用户绑定, or by a registration with the same
-- document or USCC). Personal values are sealed with keyed lookup hashes like in 0003.
-- Imported password hashes are not kept here: they wait in accounts.password_hash (prefix
-- `legacy:`) until the first successful login replaces them with argon2id.

CREATE TABLE legacy_records (
    id TEXT PRIMARY KEY,
    -- the legacy system, as named by the operator at import (e.g. torch)
    source TEXT NOT NULL,
    -- unit | person
    kind TEXT NOT NULL,
    -- the record's id in the legacy system
    legacy_id TEXT NOT NULL,
    -- declarant | expert (persons); NULL for units
    user_type TEXT,
    old_login_name TEXT,
    -- unit name or person's name, as accounts.display_name
    display_name TEXT NOT NULL,
    uscc TEXT,
    id_type TEXT,
    id_number_sealed TEXT,
    id_number_key TEXT,
    mobile_sealed TEXT,
    mobile_key TEXT,
    -- JSON list of subsystem codes the legacy record had
    subsystems TEXT NOT NULL,
    -- kept_login | linked_existing | renamed_hj | became_person | awaiting_binding
    outcome TEXT NOT NULL,
    -- the platform account the record belongs to, and how it got there
    account_id TEXT REFERENCES accounts(id) ON DELETE SET NULL,
    -- import | binding | registration
    linked_via TEXT,
    linked_at INTEGER,
    -- the login name to use on the platform (outcomes 1-4)
    login_name TEXT,
    -- SHA-256 of the row as imported: a re-run recognises the same row
    row_digest TEXT NOT NULL,
    imported_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX legacy_records_source_id ON legacy_records (source, kind, legacy_id);
CREATE INDEX legacy_records_uscc ON legacy_records (uscc);
CREATE INDEX legacy_records_mobile ON legacy_records (mobile_key);
CREATE INDEX legacy_records_document ON legacy_records (id_type, id_number_key);
CREATE INDEX legacy_records_account ON legacy_records (account_id);
-- 老用户绑定: an account binds at most one legacy record.
CREATE UNIQUE INDEX legacy_records_one_binding ON legacy_records (account_id)
    WHERE linked_via = 'binding';
