//! The states the IdP's own tables keep as fixed strings, as enums: an account's status and the
//! state of a manual review (real-name review, appeal).

tongyi_shared::wire_enum! {
    /// `accounts.status`: a disabled account cannot log in, and its tokens stop working.
    pub enum AccountStatus {
        Active = "active",
        Disabled = "disabled",
    }
}

tongyi_shared::wire_enum! {
    /// `realname_reviews.state` and `appeals.state`: waiting for a reviewer, then decided once.
    pub enum ReviewState {
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
    }
}
