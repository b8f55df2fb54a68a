//! Application state handed to every handler: the portal's config and the login glue.

use crate::config::Config;

pub type AppState = tongyi_shared::rp::AppState<Config>;
