//! 账号检索 (seed 004): a unit's USCC or a person's mobile tells which outcome its legacy
//! records got and which login window to use. It shows what the manual shows and no more:
//! the outcome, the window, the login name when it is the identifier typed (or `HJ_` + it)
//! and masked otherwise, the name masked; never a password. The page asks a captcha first;
//! lookups per address are limited here.

use std::net::IpAddr;

use tongyi_shared::{
    mask::mask_name,
    validate::{Mobile, Uscc},
};

use super::{import::RENAMED_PREFIX, outcome::Outcome, rows::UserType};
use crate::{
    accounts::captcha::{self, CaptchaAnswer},
    failure::Failure,
    pii::PiiField,
    services::Services,
    store,
};

/// Lookups per client address and hour.
pub const LOOKUPS_PER_ADDRESS_HOUR: i64 = 30;

pub enum LookupQuery {
    Unit(Uscc),
    Person(Mobile),
}

/// One legacy record found, as the page may show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundRecord {
    pub outcome: Outcome,
    /// 申报用户 / 专家用户 for person records.
    pub user_type: Option<&'static str>,
    pub masked_name: String,
    /// The login name to use, whole when it is derived from what was typed, masked otherwise.
    pub login_name: Option<String>,
    /// true: 自然人登录; false: 法人登录.
    pub natural_person_window: bool,
    /// Whether a record without a login already reached an account.
    pub linked: bool,
}

pub enum LookupAnswer {
    /// No legacy record: the manual's 未注册账号 case.
    NotFound,
    Found(Vec<FoundRecord>),
    Limited,
    /// The image captcha every lookup needs was not answered right; nothing was counted.
    CaptchaWrong,
}

/// 账号检索: the captcha first, then the per-address limit, then the records.
pub async fn lookup(
    state: &Services,
    query: &LookupQuery,
    captcha: CaptchaAnswer<'_>,
    ip: IpAddr,
) -> Result<LookupAnswer, Failure> {
    if !captcha::verify(&state.store, captcha.id, captcha.answer).await? {
        return Ok(LookupAnswer::CaptchaWrong);
    }
    let key = format!("legacylookup:ip:{ip}");
    if state.store.incr(&key, 3600).await? > LOOKUPS_PER_ADDRESS_HOUR {
        return Ok(LookupAnswer::Limited);
    }
    let (records, typed, unit) = match query {
        LookupQuery::Unit(uscc) => (
            store::legacy::units_by_uscc(&state.db, uscc.as_str()).await?,
            uscc.as_str(),
            true,
        ),
        LookupQuery::Person(mobile) => (
            store::legacy::persons_by_mobile(
                &state.db,
                &state.pii.lookup_key(PiiField::Mobile, mobile.as_str()),
            )
            .await?,
            mobile.as_str(),
            false,
        ),
    };
    if records.is_empty() {
        return Ok(LookupAnswer::NotFound);
    }
    let found = records
        .into_iter()
        .map(|r| {
            let outcome = Outcome::parse(&r.outcome).unwrap_or(Outcome::RecordOnly);
            FoundRecord {
                outcome,
                user_type: r
                    .user_type
                    .as_deref()
                    .and_then(UserType::parse)
                    .map(|t| match t {
                        UserType::Declarant => "申报用户",
                        UserType::Expert => "专家用户",
                    }),
                masked_name: mask_name(&r.display_name),
                login_name: r.login_name.as_deref().map(|n| shown_login_name(n, typed)),
                natural_person_window: outcome.natural_person_window(unit),
                linked: r.account_id.is_some(),
            }
        })
        .collect();
    Ok(LookupAnswer::Found(found))
}

/// The login name as the page shows it: whole when it is what was typed or `HJ_` + it (the
/// manual's examples), otherwise its first and last two characters.
pub fn shown_login_name(login_name: &str, typed: &str) -> String {
    let derived = login_name.eq_ignore_ascii_case(typed)
        || login_name
            .strip_prefix(RENAMED_PREFIX)
            .is_some_and(|rest| rest.eq_ignore_ascii_case(typed));
    if derived {
        return login_name.to_owned();
    }
    let chars: Vec<char> = login_name.chars().collect();
    if chars.len() <= 4 {
        return format!("{}***", chars.first().copied().unwrap_or('*'));
    }
    let head: String = chars[..2].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}****{tail}")
}

/// The legacy records linked to `account_id`, by link time (the account's own view of them).
pub async fn records_of(
    state: &Services,
    account_id: &str,
) -> Result<Vec<store::legacy::RecordView>, Failure> {
    Ok(store::legacy::records_of_account(&state.db, account_id).await?)
}

#[cfg(test)]
mod tests {
    use super::shown_login_name;

    #[test]
    fn login_names_are_whole_only_when_derived_from_the_input() {
        let uscc = "91110108MA01ET88XL";
        assert_eq!(shown_login_name(uscc, uscc), uscc);
        assert_eq!(
            shown_login_name("HJ_91110108MA01ET88XL", uscc),
            "HJ_91110108MA01ET88XL"
        );
        assert_eq!(shown_login_name("torch_company", uscc), "to****ny");
        assert_eq!(shown_login_name("abc", uscc), "a***");
    }
}
