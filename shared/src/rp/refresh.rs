//! Keeping a session alive past its ID token: the refresh-token grant, which brings a new
//! access token, a rotated refresh token and a new ID token whose claims replace the old ones.

use axum::http::HeaderMap;
use openidconnect::{
    AccessToken, Nonce, OAuth2TokenResponse, RefreshToken, RequestTokenError, TokenResponse,
};

use super::{
    cookies,
    login::{admit, verify_with_refetch},
    provider::TongyiTokenResponse,
    session::{Snapshot, Tokens},
    Rp, RpError, RpSession,
};

/// Assumed when the token response names no lifetime: the IdP's maximum (SPEC §6).
const DEFAULT_ACCESS_LIFETIME: i64 = 300;

impl Tokens {
    /// The tokens of a token response received at `now`; `nonce` is the login's.
    pub(crate) fn from_response(response: &TongyiTokenResponse, nonce: Nonce, now: i64) -> Self {
        let lifetime = response
            .expires_in()
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(DEFAULT_ACCESS_LIFETIME);
        Tokens {
            access_token: response.access_token().secret().clone(),
            access_expires_at: now.saturating_add(lifetime),
            access_lifetime: lifetime,
            refresh_token: response.refresh_token().map(|t| t.secret().clone()),
            nonce: nonce.secret().clone(),
        }
    }
}

impl Rp {
    /// The logged-in user of this request, refreshed first when the claims of its last ID
    /// token have expired or its access token is about to. `None` when nobody is logged in,
    /// or when the refresh failed: a refused refresh (revoked, expired, the account disabled,
    /// a grant this app requires withdrawn) ends the session, so the user logs in again; an
    /// unreachable IdP leaves the session to be tried again on the next request. Fails only
    /// with [`RpError::Unavailable`], when the session store cannot answer.
    pub async fn current_session(&self, headers: &HeaderMap) -> Result<Option<RpSession>, RpError> {
        let Some(id) = cookies::get(headers, &self.inner.cookies.session) else {
            return Ok(None);
        };
        let Some(snapshot) = self.inner.sessions.snapshot(&id, self.now()).await? else {
            return Ok(None);
        };
        if !snapshot.stale(self.now()) {
            return Ok(Some(snapshot.session));
        }
        match self.refresh(&id, false).await {
            Ok((session, _)) => Ok(Some(session)),
            Err(e @ RpError::Unavailable(_)) => Err(e),
            Err(e) => {
                tracing::info!(error = %e, "session not refreshed");
                Ok(None)
            }
        }
    }

    /// A valid access token of `session` for calling the IdP's APIs, refreshed when it is
    /// about to expire (which also renews the session's claims). Fails with
    /// [`RpError::SessionEnded`] when the session is over (logged out, or the refresh was
    /// refused and ended it), or with [`RpError::Exchange`] when the IdP could not be reached.
    /// `Debug` of the token is redacted; its `secret()` goes into the `Authorization` header.
    pub async fn access_token(&self, session: &RpSession) -> Result<AccessToken, RpError> {
        let snapshot = self
            .inner
            .sessions
            .snapshot(&session.key, self.now())
            .await?
            .ok_or(RpError::SessionEnded)?;
        if !snapshot.stale(self.now()) {
            return Ok(AccessToken::new(snapshot.tokens.access_token));
        }
        let (_, tokens) = self.refresh(&session.key, false).await?;
        Ok(AccessToken::new(tokens.access_token))
    }

    /// Refreshes `session` now, whatever its tokens' expiry, and returns it with the claims of
    /// the new ID token: for an app that has just changed what the IdP says about the user
    /// (the unit picked, a profile submitted) and shows the result. Errors as for
    /// [`Rp::access_token`].
    pub async fn refresh_session(&self, session: &RpSession) -> Result<RpSession, RpError> {
        Ok(self.refresh(&session.key, true).await?.0)
    }

    /// Ends the local session at once (not the IdP's): for an app whose API call was refused
    /// with `invalid_token`, so that the next login is a real one and not a bounce off a
    /// session the IdP no longer honours.
    pub async fn end_session(&self, session: &RpSession) -> Result<(), RpError> {
        Ok(self.inner.sessions.remove(&session.key).await?)
    }

    /// Refreshes session `id` unless another request just did (or, with `force`, in any case),
    /// one refresh at a time (across instances, with Redis).
    async fn refresh(&self, id: &str, force: bool) -> Result<(RpSession, Tokens), RpError> {
        let inner = &self.inner;
        let before = inner
            .sessions
            .snapshot(id, self.now())
            .await?
            .ok_or(RpError::SessionEnded)?;
        let _guard = inner.sessions.lock_refresh(id).await?;
        let Snapshot { session, tokens } = inner
            .sessions
            .snapshot(id, self.now())
            .await?
            .ok_or(RpError::SessionEnded)?;
        let renewed_meanwhile = tokens.access_token != before.tokens.access_token;
        if (force && renewed_meanwhile)
            || (!force && !Snapshot::is_stale(&session, &tokens, self.now()))
        {
            // Renewed by the request we waited for.
            return Ok((session, tokens));
        }
        let result = self.exchange(&session, &tokens).await;
        inner.config.metrics.refresh(match &result {
            Ok(_) => "renewed",
            Err(RpError::Exchange(_)) => "unreachable",
            Err(_) => "ended",
        });
        match result {
            Ok((session, tokens)) => {
                if inner
                    .sessions
                    .update(session.clone(), tokens.clone())
                    .await?
                {
                    Ok((session, tokens))
                } else {
                    // A back-channel logout arrived while we were refreshing.
                    Err(RpError::SessionEnded)
                }
            }
            Err(e @ RpError::Exchange(_)) => Err(e),
            Err(e) => {
                inner.sessions.remove(id).await?;
                tracing::info!(client_id = %inner.config.client_id, reason = %e, "session ended: refresh refused");
                Err(RpError::SessionEnded)
            }
        }
    }

    /// One refresh-token grant. [`RpError::Exchange`] means the IdP could not be asked (the
    /// session may be tried again); any other error means the session must end.
    async fn exchange(
        &self,
        session: &RpSession,
        tokens: &Tokens,
    ) -> Result<(RpSession, Tokens), RpError> {
        let inner = &self.inner;
        let now = self.now();
        let refresh = RefreshToken::new(tokens.refresh_token.clone().ok_or(RpError::SessionEnded)?);
        let response = inner
            .client
            .exchange_refresh_token(&refresh)
            .map_err(|e| RpError::Exchange(e.to_string()))?
            .request_async(&inner.http)
            .await
            .map_err(|e| match e {
                // The IdP refused: revoked, expired, reused, or the account is not active.
                RequestTokenError::ServerResponse(r) => RpError::Provider(r.error().to_string()),
                other => RpError::Exchange(other.to_string()),
            })?;
        let id_token = response.id_token().ok_or_else(|| {
            // The claims contract needs fresh claims; without an ID token there are none.
            RpError::IdToken("the refresh response has no ID token".into())
        })?;
        let login_nonce = Nonce::new(tokens.nonce.clone());
        // OIDC Core §12.2: a refreshed ID token carries no nonce, or the login's.
        let nonce_check = |n: Option<&Nonce>| match n {
            None => Ok(()),
            Some(n) if super::constant_time_eq(n.secret(), login_nonce.secret()) => Ok(()),
            Some(_) => Err("nonce differs from the login's".to_owned()),
        };
        let identity =
            verify_with_refetch(self, id_token, response.access_token(), &nonce_check).await?;
        if identity.subject != session.subject {
            return Err(RpError::IdToken(
                "the refreshed ID token names another subject".into(),
            ));
        }
        admit(self, &identity)?;
        let mut next = Tokens::from_response(&response, login_nonce, now);
        if next.refresh_token.is_none() {
            // RFC 6749 §6: the IdP may keep the old refresh token valid.
            next.refresh_token = tokens.refresh_token.clone();
        }
        let renewed = RpSession {
            subject: identity.subject,
            sid: identity.sid.or_else(|| session.sid.clone()),
            name: identity.name,
            login_name: identity.login_name,
            claims: identity.claims,
            csrf: session.csrf.clone(),
            expires_at: identity.expires_at,
            id_token: id_token.to_string(),
            key: session.key.clone(),
        };
        tracing::debug!(client_id = %inner.config.client_id, "session refreshed");
        Ok((renewed, next))
    }
}
