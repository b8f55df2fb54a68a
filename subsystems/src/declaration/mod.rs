//! The declaration engine (domain only: no HTTP, no SQL). A form is data ([`form`]); a
//! declaration's values are checked against it on submit ([`values`]); its life is the state
//! machine of [`workflow`].

pub mod form;
pub mod values;
pub mod workflow;

#[cfg(test)]
mod engine_tests;

pub use form::{AttachmentSlot, Field, FieldKind, FileType, FormDef, FormDefError, Section};
pub use values::{is_required, validate, FieldErrors, Values};
pub use workflow::{decide, Action, Actor, State, WorkflowError};
