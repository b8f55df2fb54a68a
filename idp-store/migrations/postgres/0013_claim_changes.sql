-- What changed in an account's claims (issue 18): every write to the columns that tokens,
-- userinfo and introspection read leaves a row here, written by the database itself, so that
-- each instance's claims cache (idp-core oidc::claims_cache) forgets what another instance,
-- the CLI or a hand-written statement changed, without any code path having to remember to
-- say so. Rows are read by `seq` and by time, and purged after an hour.
CREATE TABLE claim_changes (
    seq BIGSERIAL PRIMARY KEY,
    account_id TEXT,
    org_id TEXT,
    at_ms BIGINT NOT NULL
);
CREATE INDEX claim_changes_at ON claim_changes (at_ms);

-- clock_timestamp(), not now(): now() is the transaction's start, and a long transaction's
-- rows would look older than they are to the readers' time window.
-- Each field is read in its own branch: PL/pgSQL resolves a record's fields when a statement
-- first runs, so OLD.account_id must never be evaluated for a row of accounts.
CREATE FUNCTION claim_changes_log() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_id TEXT;
BEGIN
    IF TG_TABLE_NAME IN ('accounts', 'organizations') THEN
        IF TG_OP = 'DELETE' THEN row_id := OLD.id; ELSE row_id := NEW.id; END IF;
    ELSE
        IF TG_OP = 'DELETE' THEN row_id := OLD.account_id; ELSE row_id := NEW.account_id; END IF;
    END IF;
    IF TG_TABLE_NAME = 'organizations' THEN
        INSERT INTO claim_changes (org_id, at_ms)
        VALUES (row_id, (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT);
    ELSE
        INSERT INTO claim_changes (account_id, at_ms)
        VALUES (row_id, (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT);
    END IF;
    RETURN NULL;
END;
$$;

-- Only the columns claims are built from: a login's own writes (failure counters, a password
-- rehash) leave nothing here.
CREATE TRIGGER claim_changes_account_update
AFTER UPDATE OF login_name, account_type, display_name, realname_status, status, org_id,
    org_role, mobile_sealed, email_sealed, mobile_verified, email_verified ON accounts
FOR EACH ROW EXECUTE FUNCTION claim_changes_log();
CREATE TRIGGER claim_changes_account_delete AFTER DELETE ON accounts
FOR EACH ROW EXECUTE FUNCTION claim_changes_log();
CREATE TRIGGER claim_changes_grants AFTER INSERT OR UPDATE OR DELETE ON account_grants
FOR EACH ROW EXECUTE FUNCTION claim_changes_log();
CREATE TRIGGER claim_changes_roles AFTER INSERT OR UPDATE OR DELETE ON account_roles
FOR EACH ROW EXECUTE FUNCTION claim_changes_log();
-- A unit's name, USCC and status are in every member's `org` claim, and a unit that is not
-- active lends its members no grants.
CREATE TRIGGER claim_changes_org_update AFTER UPDATE OF name, uscc, status ON organizations
FOR EACH ROW EXECUTE FUNCTION claim_changes_log();
CREATE TRIGGER claim_changes_org_delete AFTER DELETE ON organizations
FOR EACH ROW EXECUTE FUNCTION claim_changes_log();
