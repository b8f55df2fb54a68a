//! What a handler of the IdP's pages and JSON APIs asks for in its signature, so that the
//! check runs once, before the handler, and cannot be forgotten: the signed-in user, a
//! platform admin, the Bearer-token caller of the APIs, a CSRF-checked form and the client's
//! address. Each rejection is the response the hand-written checks gave before.

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, RawForm, Request},
    http::request::Parts,
    response::{IntoResponse, Response},
};
use serde::{
    de::{value::MapDeserializer, DeserializeOwned},
    Deserialize,
};

use super::{api_auth, auth, csrf};
use crate::{directory::Actor, error::AppError, state::AppState};

pub use super::auth::SignedIn;

/// Where the login page sends the browser back to: the page's path, without the query (the
/// pages asked for it by name, so a query such as `next` is not carried twice).
fn here(parts: &Parts) -> &str {
    parts.uri.path()
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        auth::require(state, &parts.headers, here(parts)).await
    }
}

/// A signed-in platform admin; anyone else signed in gets the 403 page.
pub struct PlatformAdmin(pub SignedIn);

impl FromRequestParts<AppState> for PlatformAdmin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        auth::require_admin(state, &parts.headers, here(parts))
            .await
            .map(PlatformAdmin)
    }
}

/// The active account behind the request's user access token, as a directory actor; 401
/// `invalid_token` with a Bearer challenge otherwise.
pub struct ApiCaller(pub Actor);

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        api_auth::actor(state, &parts.headers).await.map(ApiCaller)
    }
}

/// An urlencoded form whose CSRF token matched the cookie, deserialized into `T`. Empty
/// values count as absent (as in the protocol's form parsing); a repeated field makes the
/// form unreadable, which, like a missing token, is refused with the expired-form page.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let headers = req.headers().clone();
        let RawForm(body) = RawForm::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let fields = fields_of(&body).unwrap_or_default();
        csrf::check(state, &headers, fields.get("csrf").map(String::as_str))
            .map_err(IntoResponse::into_response)?;
        T::deserialize(MapDeserializer::new(fields.into_iter()))
            .map(CsrfForm)
            .map_err(|e: serde::de::value::Error| {
                AppError::page(
                    axum::http::StatusCode::BAD_REQUEST,
                    "请求无效",
                    format!("表单内容无法识别：{e}"),
                )
                .into_response()
            })
    }
}

/// The fields of a form whose handler reads them by name, one at a time (as the pages did
/// before there were typed forms).
#[derive(Deserialize)]
#[serde(transparent)]
pub struct FormFields(HashMap<String, String>);

impl FormFields {
    /// A field; empty values are absent (see [`CsrfForm`]).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// The non-empty fields of a form body, or `None` when a field is repeated.
fn fields_of(body: &[u8]) -> Option<HashMap<String, String>> {
    let mut fields = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        if fields.insert(k.into_owned(), v.into_owned()).is_some() {
            return None;
        }
    }
    fields.retain(|_, v: &mut String| !v.is_empty());
    Some(fields)
}

/// The JSON body of an API request, deserialized into `T`; a body that is not is answered 400
/// `invalid_request` in the APIs' JSON error shape.
pub struct ApiBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        api_auth::body(&bytes)
            .map(ApiBody)
            .map_err(api_auth::bad_request)
    }
}

/// The address of the client: the socket's peer, or the client a trusted proxy names
/// (`trusted_proxies`); every throttle, SMS cap and audit row takes it from here.
pub use tongyi_shared::client_addr::ClientAddr;

#[cfg(test)]
mod tests {
    use super::fields_of;

    #[test]
    fn repeated_fields_make_the_form_unreadable() {
        assert!(fields_of(b"csrf=a&csrf=b").is_none());
    }

    #[test]
    fn empty_fields_count_as_absent() {
        let fields = fields_of(b"csrf=tok&name=&next=%2Fa").unwrap_or_default();
        assert_eq!(fields.get("csrf").map(String::as_str), Some("tok"));
        assert_eq!(fields.get("next").map(String::as_str), Some("/a"));
        assert!(!fields.contains_key("name"));
    }
}
