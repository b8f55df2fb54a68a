-- DPoP (RFC 9449). A client registered with dpop_bound_access_tokens (§5.2) must send a proof
-- with every token request. A refresh token issued to a public client with a proof is bound
-- to the proof key's RFC 7638 thumbprint (§5); rows from before stay unbound (NULL).
ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE refresh_tokens ADD COLUMN dpop_jkt TEXT;
