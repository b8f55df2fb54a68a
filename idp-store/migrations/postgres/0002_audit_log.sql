-- The audit log: logins, failures, lockouts, logouts, account and admin actions. Append-only;
-- no foreign keys, so that entries outlive the accounts and clients they name. `detail` is a
-- JSON object that never holds personal data or secrets. Times are Unix seconds; `id` gives
-- the order of entries within one second.

CREATE TABLE audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    event TEXT NOT NULL,
    actor_account_id TEXT,
    subject_account_id TEXT,
    client_id TEXT,
    client_ip TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log (subject_account_id, at);
CREATE INDEX audit_log_at ON audit_log (at);
