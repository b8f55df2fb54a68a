-- Signing keys form a timeline per algorithm (idp-core oidc::key_timeline): each key has a
-- generation and the time it starts signing; whether it is pending, active, previous or
-- retired follows from those and the clock. The stored state only says whether the key is
-- still considered ('published') or has been withdrawn for good ('retired').
ALTER TABLE signing_keys ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE signing_keys ADD COLUMN activates_at INTEGER NOT NULL DEFAULT 0;
UPDATE signing_keys SET activates_at = created_at;
UPDATE signing_keys SET generation = (
    SELECT COUNT(*) FROM signing_keys k
    WHERE k.alg = signing_keys.alg
      AND (k.created_at < signing_keys.created_at
           OR (k.created_at = signing_keys.created_at AND k.kid <= signing_keys.kid))
);
-- Keys retired by the old rotation (the one before the previous) stay withdrawn; the active
-- and previous ones stay published, and the timeline decides how long.
UPDATE signing_keys SET state = 'published' WHERE state IN ('active', 'previous');
DROP INDEX signing_keys_one_active;
-- Two instances starting together, or two rotations at once, cannot both append the same
-- generation: the second insert fails and is told so.
CREATE UNIQUE INDEX signing_keys_generation ON signing_keys (alg, generation);

-- Resource servers (RFC 8707): a client may be registered as a resource server under an
-- audience identifier, an absolute URI. Access tokens asked for it carry it as `aud`, and
-- only it (and the client the token was issued to) may introspect them.
ALTER TABLE clients ADD COLUMN resource_uri TEXT;
CREATE UNIQUE INDEX clients_resource_uri ON clients (resource_uri);
-- The resources a refresh-token family was granted at the authorization request (a JSON
-- list); each refresh may ask for fewer.
ALTER TABLE refresh_tokens ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
