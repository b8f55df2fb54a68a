//! Adapters to the outside services the IdP depends on. Each provider is an enum over its
//! implementations (like [`crate::store::ephemeral::Ephemeral`]): a development one that keeps
//! everything in this process, and the real one, chosen from the configuration at start-up.

pub mod email;
pub mod outbox;
pub mod realname;
pub mod sms;
