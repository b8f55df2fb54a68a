//! Logging out: RP-initiated logout (the user's logout button) and the back-channel logout
//! receiver (the IdP telling us the user logged out elsewhere).

use axum::{
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Json,
};
use openidconnect::{ClientId, CsrfToken, LogoutRequest, PostLogoutRedirectUrl};

use super::{
    constant_time_eq, cookies,
    logout_token::{self, LogoutTokenError, LogoutTokenRules},
    provider::TongyiIdToken,
    random_token, Rp, RpError,
};

/// How long the IdP may take to send the browser back after logout.
const LOGOUT_STATE_TTL: i64 = 600;

/// Ends the local session (the form must carry its CSRF token) and sends the browser to the
/// IdP's end-session endpoint (RP-Initiated Logout 1.0 §2) with `id_token_hint`,
/// `post_logout_redirect_uri` and `state`; the IdP then logs the user out of every app.
pub(crate) async fn start(rp: &Rp, headers: &HeaderMap, form: &[u8]) -> Result<Response, RpError> {
    let inner = &rp.inner;
    let submitted = url::form_urlencoded::parse(form)
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.into_owned());
    let Some(id) = cookies::get(headers, &inner.cookies.session) else {
        return Ok(Redirect::to("/").into_response());
    };
    // A session whose claims went stale still has an IdP session to end.
    let Some(session) = inner
        .sessions
        .snapshot(&id, rp.now())
        .await?
        .map(|s| s.session)
    else {
        // Already over here (expired or ended by the IdP): nothing to protect, nothing to end.
        let mut res = Redirect::to("/").into_response();
        res.headers_mut().append(
            header::SET_COOKIE,
            inner.cookies.clear(&inner.cookies.session),
        );
        return Ok(res);
    };
    if !submitted.is_some_and(|s| constant_time_eq(&s, &session.csrf)) {
        return Err(RpError::Csrf);
    }
    inner.sessions.remove(&id).await?;
    let state = random_token();
    let post_logout =
        PostLogoutRedirectUrl::new(inner.config.post_logout_redirect_uri()).map_err(|e| {
            RpError::Config {
                field: "rp.base_url",
                reason: e.to_string(),
            }
        })?;
    let mut request = LogoutRequest::from(inner.end_session.clone())
        .set_client_id(ClientId::new(inner.config.client_id.clone()))
        .set_post_logout_redirect_uri(post_logout)
        .set_state(CsrfToken::new(state.clone()));
    // The hint lets the IdP end the session without asking the user to confirm.
    if let Ok(token) = session.id_token.parse::<TongyiIdToken>() {
        request = request.set_id_token_hint(&token);
    }
    let mut res = Redirect::to(request.http_get_url().as_str()).into_response();
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        inner.cookies.clear(&inner.cookies.session),
    );
    h.append(
        header::SET_COOKIE,
        inner
            .cookies
            .set(&inner.cookies.logout, &state, LOGOUT_STATE_TTL),
    );
    Ok(res)
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn refuse(description: &str) -> Response {
    let body = serde_json::json!({ "error": "invalid_request", "error_description": description });
    no_store((StatusCode::BAD_REQUEST, Json(body)).into_response())
}

/// Receives a logout token (Back-Channel Logout 1.0 §2.5), validates it (§2.6) and ends the
/// local sessions it names (§2.7). Answers 200, or 400 when the token is invalid (§2.8).
pub(crate) async fn backchannel(rp: &Rp, form: &[u8]) -> Response {
    let inner = &rp.inner;
    let tokens: Vec<String> = url::form_urlencoded::parse(form)
        .filter(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned())
        .collect();
    let [token] = tokens.as_slice() else {
        inner.config.metrics.backchannel("refused");
        return refuse("exactly one logout_token is required");
    };
    let rules = LogoutTokenRules {
        issuer: inner.provider.metadata.issuer().as_str(),
        client_id: &inner.config.client_id,
        now: rp.now(),
    };
    let mut result = logout_token::validate(token, &inner.provider.jwks(), &rules);
    if result == Err(LogoutTokenError::UnknownKey) {
        inner.provider.refetch_jwks(&inner.http).await;
        result = logout_token::validate(token, &inner.provider.jwks(), &rules);
    }
    match result {
        Ok(subject) => match inner
            .sessions
            .end_matching(subject.sid.as_deref(), subject.sub.as_deref())
            .await
        {
            Ok(ended) => {
                inner.config.metrics.backchannel("ended");
                tracing::info!(ended, "back-channel logout");
                no_store(StatusCode::OK.into_response())
            }
            Err(e) => {
                // Not a 200: the IdP counts the delivery as failed and the session is not
                // reported ended while it is still here.
                inner.config.metrics.backchannel("unavailable");
                tracing::error!(error = %e, "back-channel logout: session store unavailable");
                let mut res = no_store(StatusCode::SERVICE_UNAVAILABLE.into_response());
                res.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(super::RETRY_AFTER_SECS),
                );
                res
            }
        },
        Err(e) => {
            inner.config.metrics.backchannel("refused");
            tracing::warn!(reason = %e, "back-channel logout token refused");
            refuse(&e.to_string())
        }
    }
}
