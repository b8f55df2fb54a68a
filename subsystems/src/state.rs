//! Application state handed to every handler: the subsystem (its config, form, database and
//! file store) and the login glue.

use std::sync::Arc;

use crate::{config::Config, declaration::FormDef, files::FileStore, store::Db};

/// One subsystem's parts, built once at start-up.
pub struct Subsystem {
    pub config: Config,
    /// This subsystem's declaration form.
    pub form: FormDef,
    pub db: Db,
    pub files: Arc<dyn FileStore>,
}

pub type AppState = tongyi_shared::rp::AppState<Subsystem>;
