//! Login sessions as the web layer sees them: the session of a request is found through its
//! cookie. The sessions themselves (creating, renewing, ending everywhere) are
//! `tongyi_idp_core::oidc::session`, re-exported here.

use std::net::IpAddr;

use axum::http::{header, HeaderMap};

pub use tongyi_idp_core::oidc::session::*;

use crate::{error::AppError, services::Services, web::cookies};

/// The live session of this browser, if any.
pub async fn current(
    state: &Services,
    headers: &HeaderMap,
) -> Result<Option<CurrentSession>, AppError> {
    let Some(cookie) = cookies::get(headers, &cookies::session_name(&state.config)) else {
        return Ok(None);
    };
    Ok(find_by_cookie(state, &cookie).await?)
}

/// Where a session is being started from: the client address and its `User-Agent`.
pub fn client_meta(ip: IpAddr, headers: &HeaderMap) -> ClientMeta {
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    ClientMeta::new(ip, user_agent)
}
