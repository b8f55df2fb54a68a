//! What the account console (账户中心) shows of the signed-in account, read in one place so
//! that its pages only mask and lay out: the opened contact data, the person's identity, the
//! unit's representative and agent, the real-name standing, the 信息更新记录 and the login
//! sessions. Changes go through [`profile`](super::profile) and [`sessions`](super::sessions).

use tongyi_shared::claims::AccountType;

use super::realname::{self, Standing};
use crate::{
    failure::{Failure, FailureResult},
    services::Services,
    store::{
        self,
        accounts::Account,
        identities::{OrgPerson, OrgPersonRole, PersonIdentity},
        info_updates::InfoUpdate,
        sessions::SessionRecord,
    },
};

/// The 我的信息 page's data.
pub struct Overview {
    pub mobile: Option<String>,
    pub email: Option<String>,
    /// A natural person's identity; `None` also for a quick registration before real-name
    /// verification asks for it.
    pub identity: Option<PersonIdentity>,
    pub standing: Standing,
    /// A legal entity's unit people on file: 法定代表人, then 代办人.
    pub unit_people: Vec<(OrgPersonRole, OrgPerson)>,
}

pub async fn overview(state: &Services, account: &Account) -> FailureResult<Overview> {
    let (mobile, email) = store::identities::contact_of(&state.pii, account);
    let identity = if account.account_type == AccountType::NaturalPerson {
        store::identities::person_identity(&state.db, &state.pii, &account.id).await?
    } else {
        None
    };
    let mut unit_people = Vec::new();
    if let (Some(org), AccountType::LegalEntity) = (&account.org, account.account_type) {
        for role in [OrgPersonRole::LegalRepresentative, OrgPersonRole::Agent] {
            if let Some(p) =
                store::identities::org_person(&state.db, &state.pii, &org.id, role).await?
            {
                unit_people.push((role, p));
            }
        }
    }
    Ok(Overview {
        mobile,
        email,
        identity,
        standing: realname::standing(state, &account.id).await?,
        unit_people,
    })
}

/// The account as it is now, with its opened mobile and email: the edit page re-reads it after
/// a change so that it shows the new values.
pub async fn contact(
    state: &Services,
    account_id: &str,
) -> FailureResult<Option<(Account, Option<String>, Option<String>)>> {
    let Some(account) = store::accounts::find_by_id(&state.db, account_id).await? else {
        return Ok(None);
    };
    let (mobile, email) = store::identities::contact_of(&state.pii, &account);
    Ok(Some((account, mobile, email)))
}

/// The newest 200 entries of the account's 信息更新记录.
pub async fn history(state: &Services, account_id: &str) -> FailureResult<Vec<InfoUpdate>> {
    Ok(store::info_updates::for_account(&state.db, account_id, 200).await?)
}

/// The account's live login sessions.
pub async fn sessions(state: &Services, account_id: &str) -> FailureResult<Vec<SessionRecord>> {
    let now = state.clock.now();
    store::sessions::list_for_account(&state.db, account_id, now)
        .await
        .map_err(Failure::from)
}

/// A natural person's identity on file, opened.
pub async fn identity(state: &Services, account_id: &str) -> FailureResult<Option<PersonIdentity>> {
    Ok(store::identities::person_identity(&state.db, &state.pii, account_id).await?)
}
