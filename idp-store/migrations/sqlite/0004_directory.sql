-- The directory (issue 4): supervising departments (局级主管部门), the review state of units,
-- the history of every review decision, and the open record of a unit's completion.
-- Unit status: registered → pending_review → active | returned → pending_review …
-- Membership state lives in accounts.org_role: pending (asked to join) → member; admin for the
-- unit's own account. Times are Unix seconds.

CREATE TABLE departments (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- The department a unit chose when it submitted its completion, when it last submitted, and
-- the completion record itself (JSON object; the portal's fields and attachments come later).
ALTER TABLE organizations ADD COLUMN department_id TEXT REFERENCES departments(id);
ALTER TABLE organizations ADD COLUMN submitted_at INTEGER;
ALTER TABLE organizations ADD COLUMN completion TEXT;
CREATE INDEX organizations_review ON organizations (department_id, status);

-- Every transition of a unit's status: who, when, from → to, why.
CREATE TABLE unit_reviews (
    -- increasing: the order of decisions made within one second
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    actor_account_id TEXT NOT NULL,
    -- submit | approve | return
    action TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    department_id TEXT,
    reason TEXT,
    at INTEGER NOT NULL
);
CREATE INDEX unit_reviews_org ON unit_reviews (org_id, id);

CREATE INDEX accounts_org ON accounts (org_id, org_role);
