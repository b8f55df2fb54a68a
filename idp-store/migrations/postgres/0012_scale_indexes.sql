-- Indexes for the same latencies with a million persons and a hundred thousand units (issue
-- 18), each found missing by EXPLAIN over the generated population (docs/benchmarks.md,
-- "Scale"). The same on both backends; SQLite plans without statistics (nobody runs ANALYZE
-- on a deployed file), so each one must win on SQLite's heuristics alone.

-- Login by ID number looks the document up by its lookup hash alone, whatever its type:
-- person_identities_document (id_type, id_number_key) cannot serve it (a full scan).
CREATE INDEX person_identities_id_number ON person_identities (id_number_key);

-- The unit search of person completion (name_key = $1 OR LOWER(name) = $1: units created
-- without a name key, by the seed or the legacy import, are matched by their name) and the
-- registration's "name taken" check (name_key = $1 OR name = $2): one index per side of the
-- OR, or the whole table is read.
CREATE INDEX organizations_lower_name ON organizations (LOWER(name));
CREATE INDEX organizations_name ON organizations (name);

-- The review list, newest submission first: per department and state (a reviewer's list),
-- per department in every state, and per state in every department (the platform admin's),
-- each in the list's order so that a page is one index range from its cursor on and needs no
-- sort. The first replaces 0004's (department_id, status), which it extends.
DROP INDEX organizations_review;
CREATE INDEX organizations_review ON organizations (department_id, status, submitted_at DESC, id);
CREATE INDEX organizations_department_order ON organizations (department_id, submitted_at DESC, id);
CREATE INDEX organizations_status_order ON organizations (status, submitted_at DESC, id);

-- A unit's members by login name: pages walk this index from the cursor on instead of
-- sorting every member of a big unit for each page.
CREATE INDEX accounts_org_login ON accounts (org_id, login_key);

-- 老用户绑定 looks unbound legacy records up by document hash alone; without this index
-- SQLite reads every unbound record (legacy_records_account, account_id IS NULL).
CREATE INDEX legacy_records_id_number ON legacy_records (id_number_key);

-- A unit's own legal-entity account among its members (login by USCC, the review list's
-- real-name column, the legacy import): accounts_org (org_id, org_role) and
-- accounts_org_login would read every member of a big unit to find it.
CREATE INDEX accounts_org_type ON accounts (org_id, account_type);
