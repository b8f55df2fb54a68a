-- The account lifecycle (issue 3): identity data of natural persons and legal entities,
-- personal data sealed at rest with keyed lookup hashes (`*_sealed`, `*_key`, see pii.rs),
-- real-name verification (queue and manual review), uploads, appeals, the info update record
-- and an index of login sessions per account. Times are Unix seconds; dates are YYYY-MM-DD.

-- Contact data and flags of every account. A mobile or email identifies at most one account
-- of each type (the login page has one tab per type).
ALTER TABLE accounts ADD COLUMN mobile_sealed TEXT;
ALTER TABLE accounts ADD COLUMN mobile_key TEXT;
ALTER TABLE accounts ADD COLUMN email_sealed TEXT;
ALTER TABLE accounts ADD COLUMN email_key TEXT;
-- 0 when the login name was generated (quick registration by mobile) and may still be chosen.
ALTER TABLE accounts ADD COLUMN login_name_chosen BIGINT NOT NULL DEFAULT 1;
-- 1 after a unit admin's reset: the next login must set a new password.
ALTER TABLE accounts ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX accounts_mobile ON accounts (account_type, mobile_key);
CREATE UNIQUE INDEX accounts_email ON accounts (account_type, email_key);

-- A natural person's identity document (one per account).
CREATE TABLE person_identities (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    real_name TEXT NOT NULL,
    -- mainland | hk_macao_taiwan | other (身份类型)
    identity_region TEXT NOT NULL,
    -- IdDocumentType::code()
    id_type TEXT NOT NULL,
    id_number_sealed TEXT NOT NULL,
    id_number_key TEXT NOT NULL,
    id_valid_from TEXT,
    -- NULL: long-term (长期)
    id_valid_to TEXT,
    -- passports and permanent residence cards
    id_country TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX person_identities_document ON person_identities (id_type, id_number_key);

-- A legal entity's registration data, beside the unit row the claims read.
ALTER TABLE organizations ADD COLUMN name_key TEXT;
-- enterprise | institution | social_org | other (法人类型)
ALTER TABLE organizations ADD COLUMN entity_type TEXT;
-- domestic | hk_macao_taiwan | overseas
ALTER TABLE organizations ADD COLUMN registration_region TEXT;
ALTER TABLE organizations ADD COLUMN updated_at BIGINT;
CREATE INDEX organizations_name_key ON organizations (name_key);

-- The people a legal entity names at registration: its legal representative and its primary
-- agent (主代办人).
CREATE TABLE org_people (
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    -- legal_rep | agent
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    id_type TEXT NOT NULL,
    id_number_sealed TEXT NOT NULL,
    id_number_key TEXT NOT NULL,
    id_valid_from TEXT,
    id_valid_to TEXT,
    mobile_sealed TEXT NOT NULL,
    mobile_key TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, role)
);

-- Automatic real-name verification: one row per account while it is queued or retried.
CREATE TABLE realname_checks (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    -- queued | done
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX realname_checks_due ON realname_checks (state, next_attempt_at);

-- Uploaded images (ID cards, licences), sealed like personal data. Written in the same
-- transaction as the review or appeal that uses them.
CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    owner_account_id TEXT,
    -- id_front | id_back | licence | other
    purpose TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    data_sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Manual real-name reviews after a failed automatic verification.
CREATE TABLE realname_reviews (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    front_upload_id TEXT NOT NULL REFERENCES uploads(id),
    back_upload_id TEXT NOT NULL REFERENCES uploads(id),
    -- pending | approved | rejected
    state TEXT NOT NULL,
    reason TEXT,
    decided_by TEXT,
    decided_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX realname_reviews_state ON realname_reviews (state, created_at);
CREATE INDEX realname_reviews_account ON realname_reviews (account_id, created_at);

-- Appeals (申诉) for a forgotten login name or mobile.
CREATE TABLE appeals (
    id TEXT PRIMARY KEY,
    -- forgot_login_name | forgot_mobile
    kind TEXT NOT NULL,
    account_type TEXT NOT NULL,
    -- what the appellant states, personal parts sealed
    claimant_name TEXT NOT NULL,
    id_type TEXT,
    id_number_sealed TEXT,
    id_number_key TEXT,
    unit_name TEXT,
    uscc TEXT,
    -- where the result goes by SMS (and, for forgot_mobile, the new reserved mobile)
    contact_mobile_sealed TEXT NOT NULL,
    description TEXT NOT NULL,
    -- JSON list of upload ids
    upload_ids TEXT NOT NULL,
    -- the account the identity data matched when filed, if any
    matched_account_id TEXT,
    -- pending | approved | rejected
    state TEXT NOT NULL,
    reason TEXT,
    decided_by TEXT,
    decided_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX appeals_state ON appeals (state, created_at);

-- 信息更新记录: every change of an account's or unit's data. Values of personal fields are
-- stored masked, as pages show them.
CREATE TABLE info_updates (
    id BIGSERIAL PRIMARY KEY,
    account_id TEXT,
    org_id TEXT,
    actor_account_id TEXT,
    field TEXT NOT NULL,
    old_value TEXT NOT NULL,
    new_value TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX info_updates_account ON info_updates (account_id, at);
CREATE INDEX info_updates_org ON info_updates (org_id, at);

-- Login sessions per account, so that a password change or a disable can end them all and
-- the account console can list them. The session itself lives in the short-lived store.
CREATE TABLE login_sessions (
    sid TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    client_ip TEXT,
    user_agent TEXT
);
CREATE INDEX login_sessions_account ON login_sessions (account_id, expires_at);
