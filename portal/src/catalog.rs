//! The subsystems of the platform as the signed-in user sees them: the IdP's registered
//! subsystem clients (`GET /api/subsystems`), or, on an IdP without that endpoint, the
//! `[[subsystem]]` list of the portal's config with the grants from the claims.

use tongyi_shared::{
    org::{OrgRole, UnitStatus},
    rp::RpSession,
};

use crate::{directory::UserApi, error::Error, state::Portal};

pub struct Subsystem {
    pub code: String,
    pub name: String,
    /// Opening it starts an SSO login at the subsystem.
    pub enter_url: String,
    pub granted: bool,
    /// When not granted: how to get it.
    pub how_to_get: String,
}

/// How an account without a grant gets it, by where it stands (the IdP's wording).
fn how_to_get(session: &RpSession) -> &'static str {
    match session.claims.org.as_ref() {
        None => "先选择所属单位",
        Some(o) if o.role == OrgRole::Admin && o.status != UnitStatus::Active => {
            "完成单位信息补全并通过主管部门审核"
        }
        Some(o) if o.role == OrgRole::Admin => "请联系平台管理员开通",
        Some(_) => "请联系所属单位管理员授权",
    }
}

pub async fn subsystems(
    portal: &Portal,
    api: &UserApi<'_>,
    session: &RpSession,
) -> Result<Vec<Subsystem>, Error> {
    let link_of = |code: &str| {
        portal
            .config
            .subsystems
            .iter()
            .find(|s| s.code == code)
            .map(|s| format!("{}/auth/login", s.url))
    };
    match api.subsystems().await {
        Ok(list) => Ok(list
            .into_iter()
            .filter_map(|s| {
                let enter_url = s.initiate_login_uri.clone().or_else(|| link_of(&s.code))?;
                Some(Subsystem {
                    how_to_get: s
                        .how_to_get
                        .unwrap_or_else(|| how_to_get(session).to_owned()),
                    code: s.code,
                    name: s.name,
                    enter_url,
                    granted: s.granted,
                })
            })
            .collect()),
        Err(Error::Api(r)) if r.status == 404 || r.status == 405 => Ok(portal
            .config
            .subsystems
            .iter()
            .map(|s| Subsystem {
                code: s.code.clone(),
                name: s.name.clone(),
                enter_url: format!("{}/auth/login", s.url),
                granted: session.claims.grants_subsystem(&s.code),
                how_to_get: how_to_get(session).to_owned(),
            })
            .collect()),
        Err(e) => Err(e),
    }
}
