-- Client metadata require_pushed_authorization_requests (RFC 9126 §6): this client's
-- authorization requests are taken only when pushed to /par first. Existing clients keep
-- sending them to /authorize directly.
ALTER TABLE clients ADD COLUMN require_pushed_authorization_requests INTEGER NOT NULL DEFAULT 0;
