//! Application state handed to every handler: the portal's config, its client of the IdP's
//! directory API, and the login glue (`state.rp`).

use crate::{config::Config, directory::Directory};

/// What the portal adds to the shared RP state (reached as `state.config`).
pub struct Portal {
    pub config: Config,
    pub directory: Directory,
}

pub type AppState = tongyi_shared::rp::AppState<Portal>;
