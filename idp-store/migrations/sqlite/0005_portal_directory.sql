-- The IdP side of the portal (issue 4): subsystem launch URLs and a switch per client, the
-- attachments of a unit's completion, the profile of a natural person and expert applications.
-- The completion itself lives in organizations.completion (0004) as a JSON object whose
-- personal values (contact mobile and email, bank account number) are sealed. Times are Unix
-- seconds.

-- OpenID Connect Registration 1.0 `initiate_login_uri`: opening it starts a login at the RP.
ALTER TABLE clients ADD COLUMN initiate_login_uri TEXT;
-- 0 when a platform admin disabled the client: authorize and token refuse it.
ALTER TABLE clients ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;

-- Files of a unit's completion; the bytes are sealed in uploads, written in one transaction.
CREATE TABLE unit_attachments (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    -- business_licence | risk_commitment | bank_permit
    slot TEXT NOT NULL,
    filename TEXT NOT NULL,
    upload_id TEXT NOT NULL REFERENCES uploads(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX unit_attachments_org ON unit_attachments (org_id, slot, created_at);

-- 个人信息补全: what the registration did not ask (name, ID and mobile stay on the account).
CREATE TABLE person_profiles (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    gender TEXT,
    phone TEXT,
    position TEXT,
    title TEXT,
    updated_at INTEGER NOT NULL
);

-- 评审专家信息完善: one application per account, reviewed by a platform admin.
CREATE TABLE expert_applications (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    gender TEXT NOT NULL,
    email_sealed TEXT,
    institution TEXT NOT NULL,
    position TEXT NOT NULL,
    title TEXT NOT NULL,
    -- JSON array of the fields of expertise
    fields TEXT NOT NULL,
    -- pending | approved | rejected
    status TEXT NOT NULL,
    reason TEXT,
    submitted_at INTEGER NOT NULL,
    decided_at INTEGER,
    decided_by TEXT
);
CREATE INDEX expert_applications_status ON expert_applications (status, submitted_at);
