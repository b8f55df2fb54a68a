-- What changed in an account's claims (issue 18): every write to the columns that tokens,
-- userinfo and introspection read leaves a row here, written by the database itself, so that
-- each instance's claims cache (idp-core oidc::claims_cache) forgets what another instance,
-- the CLI or a hand-written statement changed, without any code path having to remember to
-- say so. Rows are read by `seq` and by time, and purged after an hour.
CREATE TABLE claim_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT,
    org_id TEXT,
    at_ms BIGINT NOT NULL
);
CREATE INDEX claim_changes_at ON claim_changes (at_ms);

-- Only the columns claims are built from: a login's own writes (failure counters, a password
-- rehash) leave nothing here.
CREATE TRIGGER claim_changes_account_update
AFTER UPDATE OF login_name, account_type, display_name, realname_status, status, org_id,
    org_role, mobile_sealed, email_sealed, mobile_verified, email_verified ON accounts
BEGIN
    INSERT INTO claim_changes (account_id, at_ms)
    VALUES (NEW.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER claim_changes_account_delete AFTER DELETE ON accounts
BEGIN
    INSERT INTO claim_changes (account_id, at_ms)
    VALUES (OLD.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER claim_changes_grant_insert AFTER INSERT ON account_grants
BEGIN
    INSERT INTO claim_changes (account_id, at_ms)
    VALUES (NEW.account_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER claim_changes_grant_update AFTER UPDATE ON account_grants
BEGIN
    INSERT INTO claim_changes (account_id, at_ms)
    VALUES (NEW.account_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER claim_changes_grant_delete AFTER DELETE ON account_grants
BEGIN
    INSERT INTO claim_changes (account_id, at_ms)
    VALUES (OLD.account_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER claim_changes_role_insert AFTER INSERT ON account_roles
BEGIN
    INSERT INTO claim_changes (account_id, at_ms)
    VALUES (NEW.account_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER claim_changes_role_update AFTER UPDATE ON account_roles
BEGIN
    INSERT INTO claim_changes (account_id, at_ms)
    VALUES (NEW.account_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER claim_changes_role_delete AFTER DELETE ON account_roles
BEGIN
    INSERT INTO claim_changes (account_id, at_ms)
    VALUES (OLD.account_id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

-- A unit's name, USCC and status are in every member's `org` claim, and a unit that is not
-- active lends its members no grants.
CREATE TRIGGER claim_changes_org_update AFTER UPDATE OF name, uscc, status ON organizations
BEGIN
    INSERT INTO claim_changes (org_id, at_ms)
    VALUES (NEW.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;

CREATE TRIGGER claim_changes_org_delete AFTER DELETE ON organizations
BEGIN
    INSERT INTO claim_changes (org_id, at_ms)
    VALUES (OLD.id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
