//! The home page as the place the IdP sends the browser back to after logout
//! (`post_logout_redirect_uri` is `{base_url}/`, with the `state` of the logout started here).

use std::marker::PhantomData;

use axum::{
    extract::{FromRef, FromRequestParts, Query},
    http::{header, request::Parts, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::{Rp, RpError, RpSession};

/// What a home page needs to know about its request: who is logged in (refreshed through
/// [`Rp::current_session`] when needed), and whether this is the IdP's redirect back after a
/// logout this browser started here. Rejects only when the session store cannot answer, with
/// the app's error type `E` (made from [`RpError::Unavailable`]).
pub struct Landing<E> {
    /// The logged-in user, if the session cookie names a live session.
    pub session: Option<RpSession>,
    /// The `Set-Cookie` that forgets the logout state, on the redirect back after logout.
    notice: Option<HeaderValue>,
    error: PhantomData<fn() -> E>,
}

#[derive(Debug, Default, Deserialize)]
struct LandingQuery {
    /// Present when the IdP sends the browser back after logout.
    state: Option<String>,
}

impl<S, E> FromRequestParts<S> for Landing<E>
where
    S: Send + Sync,
    Rp: FromRef<S>,
    E: From<RpError> + IntoResponse,
{
    type Rejection = E;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, E> {
        let rp = Rp::from_ref(state);
        // A query that does not parse cannot be the IdP's redirect back.
        let q = Query::<LandingQuery>::try_from_uri(&parts.uri)
            .map(|Query(q)| q)
            .unwrap_or_default();
        Ok(Landing {
            session: rp.current_session(&parts.headers).await?,
            notice: rp.logout_notice(&parts.headers, q.state.as_deref()),
            error: PhantomData,
        })
    }
}

impl<E> Landing<E> {
    /// Whether to tell the visitor that the logout went through: this is the redirect back
    /// after logout, and nobody is logged in.
    pub fn logged_out(&self) -> bool {
        self.session.is_none() && self.notice.is_some()
    }

    /// The page (`200 OK`, see [`Rp::html`]); on the redirect back after logout it also
    /// forgets the logout state.
    pub fn page(self, rp: &Rp, body: String) -> Response {
        let mut res = rp.html(StatusCode::OK, body);
        if let Some(clear) = self.notice {
            res.headers_mut().append(header::SET_COOKIE, clear);
        }
        res
    }
}
