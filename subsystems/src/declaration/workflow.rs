//! The declaration's life (SPEC §4, seed 002): a draft is saved at any time; submitting sends
//! it to the bureau and locks it for the declarant; a reviewer approves it or returns it with a
//! reason; a returned declaration is editable again and can be resubmitted. Approval is final.
//!
//! This module decides what a person may do; the store applies a decision only if the
//! declaration is still in the state it was decided on, so two tabs cannot both act.

use std::fmt;

/// Where a declaration stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// 草稿: saved, never submitted.
    Draft,
    /// 已提交: waiting for the bureau; locked for the declarant.
    Submitted,
    /// 已退回: returned with a reason; editable and resubmittable.
    Returned,
    /// 已通过: approved; nothing more happens.
    Approved,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Submitted => "submitted",
            State::Returned => "returned",
            State::Approved => "approved",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        [
            State::Draft,
            State::Submitted,
            State::Returned,
            State::Approved,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// The state's name on pages.
    pub fn label(self) -> &'static str {
        match self {
            State::Draft => "草稿",
            State::Submitted => "已提交，待审批",
            State::Returned => "已退回",
            State::Approved => "审批通过",
        }
    }

    /// Whether the declarant may change the values and attachments.
    pub fn editable(self) -> bool {
        matches!(self, State::Draft | State::Returned)
    }

    /// Whether reviewers see it (a draft belongs to its declarant alone).
    pub fn visible_to_reviewers(self) -> bool {
        self != State::Draft
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Who is acting, as far as the workflow cares.
#[derive(Clone, Copy, Debug)]
pub struct Actor<'a> {
    /// The account (`sub`).
    pub subject: &'a str,
    /// Holds the subsystem's reviewer role (`{code}:reviewer`).
    pub reviewer: bool,
}

/// What someone asks to do with a declaration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action<'a> {
    /// Save values or attachments (a draft save or an upload).
    Edit,
    Submit,
    Approve,
    /// Return with this reason.
    Return(&'a str),
}

/// Why an action is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    /// Not the declarant's, or not a reviewer: answered like a missing declaration.
    #[error("not yours to act on")]
    NotAllowed,
    /// The state does not allow it (e.g. editing after submit).
    #[error("the declaration is {0:?}")]
    WrongState(State),
    /// A return needs a reason.
    #[error("a return needs a reason")]
    ReasonRequired,
    #[error("the reason is too long")]
    ReasonTooLong,
}

/// The longest return reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// The state `action` by `actor` leads to from `state`, for a declaration owned by `owner`.
pub fn decide(
    state: State,
    owner: &str,
    actor: Actor<'_>,
    action: Action<'_>,
) -> Result<State, WorkflowError> {
    let own = actor.subject == owner;
    match action {
        Action::Edit | Action::Submit => {
            if !own {
                return Err(WorkflowError::NotAllowed);
            }
            if !state.editable() {
                return Err(WorkflowError::WrongState(state));
            }
            Ok(if action == Action::Submit {
                State::Submitted
            } else {
                state
            })
        }
        Action::Approve | Action::Return(_) => {
            if !actor.reviewer {
                return Err(WorkflowError::NotAllowed);
            }
            if state != State::Submitted {
                return Err(WorkflowError::WrongState(state));
            }
            match action {
                Action::Return(reason) => {
                    let reason = reason.trim();
                    if reason.is_empty() {
                        return Err(WorkflowError::ReasonRequired);
                    }
                    if reason.chars().count() > MAX_REASON_CHARS {
                        return Err(WorkflowError::ReasonTooLong);
                    }
                    Ok(State::Returned)
                }
                _ => Ok(State::Approved),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: &str = "acct-1";
    const DECLARANT: Actor = Actor {
        subject: OWNER,
        reviewer: false,
    };
    const STRANGER: Actor = Actor {
        subject: "acct-2",
        reviewer: false,
    };
    const REVIEWER: Actor = Actor {
        subject: "acct-9",
        reviewer: true,
    };

    #[test]
    fn the_whole_way_with_a_return() {
        let s = State::Draft;
        let s2 = decide(s, OWNER, DECLARANT, Action::Edit).unwrap();
        assert_eq!(s2, State::Draft);
        let s = decide(s, OWNER, DECLARANT, Action::Submit).unwrap();
        assert_eq!(s, State::Submitted);
        let s = decide(s, OWNER, REVIEWER, Action::Return("数据有误")).unwrap();
        assert_eq!(s, State::Returned);
        assert_eq!(
            decide(s, OWNER, DECLARANT, Action::Edit),
            Ok(State::Returned)
        );
        let s = decide(s, OWNER, DECLARANT, Action::Submit).unwrap();
        let s = decide(s, OWNER, REVIEWER, Action::Approve).unwrap();
        assert_eq!(s, State::Approved);
        for action in [Action::Edit, Action::Submit] {
            assert_eq!(
                decide(s, OWNER, DECLARANT, action),
                Err(WorkflowError::WrongState(State::Approved))
            );
        }
        assert!(decide(s, OWNER, REVIEWER, Action::Return("x")).is_err());
    }

    #[test]
    fn no_edit_after_submit() {
        for action in [Action::Edit, Action::Submit] {
            assert_eq!(
                decide(State::Submitted, OWNER, DECLARANT, action),
                Err(WorkflowError::WrongState(State::Submitted))
            );
        }
    }

    #[test]
    fn only_reviewers_decide_and_only_declarants_edit() {
        assert_eq!(
            decide(State::Submitted, OWNER, DECLARANT, Action::Approve),
            Err(WorkflowError::NotAllowed)
        );
        assert_eq!(
            decide(State::Submitted, OWNER, STRANGER, Action::Return("x")),
            Err(WorkflowError::NotAllowed)
        );
        assert_eq!(
            decide(State::Draft, OWNER, STRANGER, Action::Edit),
            Err(WorkflowError::NotAllowed)
        );
        assert_eq!(
            decide(State::Draft, OWNER, REVIEWER, Action::Submit),
            Err(WorkflowError::NotAllowed),
            "a reviewer does not submit for someone else"
        );
        assert_eq!(
            decide(State::Draft, OWNER, REVIEWER, Action::Approve),
            Err(WorkflowError::WrongState(State::Draft)),
            "drafts are not the bureau's"
        );
    }

    #[test]
    fn a_return_needs_a_reason() {
        assert_eq!(
            decide(State::Submitted, OWNER, REVIEWER, Action::Return("  ")),
            Err(WorkflowError::ReasonRequired)
        );
        let long = "退".repeat(MAX_REASON_CHARS + 1);
        assert_eq!(
            decide(State::Submitted, OWNER, REVIEWER, Action::Return(&long)),
            Err(WorkflowError::ReasonTooLong)
        );
        let exact = "退".repeat(MAX_REASON_CHARS);
        assert!(decide(State::Submitted, OWNER, REVIEWER, Action::Return(&exact)).is_ok());
    }

    #[test]
    fn state_names_round_trip() {
        for s in [
            State::Draft,
            State::Submitted,
            State::Returned,
            State::Approved,
        ] {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        assert_eq!(State::parse("deleted"), None);
    }
}
