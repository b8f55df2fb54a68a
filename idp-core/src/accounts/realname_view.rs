//! What the real-name pages read: the account's own status page and the platform admin's
//! manual review list and detail. The pages only mask and lay out what these return; the rule
//! a decision must satisfy (a rejection names its reason) lives here too.

use tongyi_shared::claims::AccountType;

use super::realname::{self, Decision, EnterpriseSubject, Standing};
use crate::{
    failure::FailureResult,
    services::Services,
    store::{
        self, accounts::Account, identities::PersonIdentity, realname::Review, states::ReviewState,
    },
};

/// The longest reason a reviewer may give for a rejection, in characters.
pub const REASON_MAX_CHARS: usize = 200;

/// The account's status page.
pub struct StatusView {
    pub standing: Standing,
    pub identity: Option<PersonIdentity>,
    /// The reviewer's reason of the latest rejection, after a failure.
    pub rejection: Option<String>,
    /// When a queued check is next tried (Unix seconds).
    pub queued_until: Option<i64>,
    /// A legal entity's registration as the enterprise check asks it.
    pub unit: Option<EnterpriseSubject>,
}

pub async fn status(state: &Services, account: &Account) -> FailureResult<StatusView> {
    let id = &account.id;
    let standing = realname::standing(state, id).await?;
    let rejection = match standing {
        Standing::Failed => store::realname::latest_for(&state.db, id)
            .await?
            .filter(|r| r.state == ReviewState::Rejected)
            .and_then(|r| r.reason),
        _ => None,
    };
    let queued_until = match standing {
        Standing::Queued => store::realname::check(&state.db, id)
            .await?
            .map(|c| c.next_attempt_at),
        _ => None,
    };
    Ok(StatusView {
        standing,
        identity: store::identities::person_identity(&state.db, &state.pii, id).await?,
        rejection,
        queued_until,
        unit: realname::enterprise_subject(state, account).await?,
    })
}

/// Whose documents a review holds.
pub enum Subject {
    /// A unit: its licence is compared with its name, USCC and legal representative.
    Unit(EnterpriseSubject),
    /// A person, with the identity on file (if any).
    Person(Option<PersonIdentity>),
}

/// A review with the account it belongs to.
pub struct ReviewView {
    pub review: Review,
    /// Empty when the account is gone.
    pub login_name: String,
    /// A legal entity's unit name (public), which the list shows instead of a person's name.
    pub unit_name: Option<String>,
    pub subject: Subject,
}

async fn view(state: &Services, review: Review) -> FailureResult<ReviewView> {
    let account = store::accounts::find_by_id(&state.db, &review.account_id).await?;
    let unit = match &account {
        Some(a) if a.account_type == AccountType::LegalEntity => {
            realname::enterprise_subject(state, a).await?
        }
        _ => None,
    };
    let subject = match unit {
        Some(u) => Subject::Unit(u),
        None => Subject::Person(
            store::identities::person_identity(&state.db, &state.pii, &review.account_id).await?,
        ),
    };
    let unit_name = account
        .as_ref()
        .filter(|a| a.account_type == AccountType::LegalEntity)
        .and_then(|a| a.org.as_ref())
        .map(|o| o.name.clone());
    Ok(ReviewView {
        review,
        login_name: account.map_or_else(String::new, |a| a.login_name),
        unit_name,
        subject,
    })
}

/// One review by id.
pub async fn review(state: &Services, id: &str) -> FailureResult<Option<ReviewView>> {
    match store::realname::review(&state.db, id).await? {
        Some(r) => Ok(Some(view(state, r).await?)),
        None => Ok(None),
    }
}

/// A page of the pending reviews, newest first, and how many are pending in all.
pub async fn pending(
    state: &Services,
    offset: i64,
    limit: i64,
) -> FailureResult<(i64, Vec<ReviewView>)> {
    let total = store::realname::count_pending(&state.db).await?;
    let reviews = store::realname::pending(&state.db, offset, limit).await?;
    let mut views = Vec::with_capacity(reviews.len());
    for r in reviews {
        views.push(view(state, r).await?);
    }
    Ok((total, views))
}

/// Why a reviewer's form is not a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecisionRefusal {
    /// Neither 通过 nor 驳回.
    NoChoice,
    /// 驳回 without a reason.
    ReasonMissing,
    /// A reason over [`REASON_MAX_CHARS`].
    ReasonTooLong,
}

impl DecisionRefusal {
    pub fn message(self) -> &'static str {
        match self {
            DecisionRefusal::NoChoice => "请选择通过或驳回。",
            DecisionRefusal::ReasonMissing => "驳回时请填写原因",
            DecisionRefusal::ReasonTooLong => "原因不能超过200个字",
        }
    }
}

const _: () = assert!(REASON_MAX_CHARS == 200);

/// The reviewer's choice (`approve` / `reject`) and reason, as a decision.
pub fn parse_decision(choice: &str, reason: &str) -> Result<Decision, DecisionRefusal> {
    let reason = reason.trim();
    match choice {
        "approve" => Ok(Decision::Approve),
        "reject" if reason.is_empty() => Err(DecisionRefusal::ReasonMissing),
        "reject" if reason.chars().count() > REASON_MAX_CHARS => {
            Err(DecisionRefusal::ReasonTooLong)
        }
        "reject" => Ok(Decision::Reject {
            reason: reason.to_owned(),
        }),
        _ => Err(DecisionRefusal::NoChoice),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_needs_a_reason_of_at_most_200_characters() {
        assert!(matches!(
            parse_decision("approve", ""),
            Ok(Decision::Approve)
        ));
        assert_eq!(
            parse_decision("reject", "  ").err(),
            Some(DecisionRefusal::ReasonMissing)
        );
        assert_eq!(
            parse_decision("reject", &"字".repeat(201)).err(),
            Some(DecisionRefusal::ReasonTooLong)
        );
        match parse_decision("reject", &format!(" {} ", "字".repeat(200))) {
            Ok(Decision::Reject { reason }) => assert_eq!(reason.chars().count(), 200),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_decision("maybe", "x").err(),
            Some(DecisionRefusal::NoChoice)
        );
    }
}
