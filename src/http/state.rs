//! What every request handler shares: the running site, the API's write path,
//! the tokens, and the runtime the store lives on.

use super::auth::Tokens;
use crate::site::Site;
use std::sync::Arc;

pub struct State {
    pub site: Arc<Site>,
    /// The API's writes, which know the store and config, not the site.
    pub ingest: crate::ingest::Ingest,
    pub tokens: Tokens,
    /// The console's templates and sign-in limiter.
    pub(super) console: super::console::pages::Console,
    /// The runtime the store's connections and background tasks live on. API
    /// requests run there; connection workers only serve cached bytes.
    pub(super) main: tokio::runtime::Handle,
}

impl State {
    /// Must be called on the main runtime.
    pub fn new(site: Arc<Site>) -> State {
        let tokens = Tokens::new(&site.config, super::auth::env_token().ok().flatten());
        State {
            ingest: site.ingest(),
            site,
            tokens,
            console: super::console::pages::Console::default(),
            main: tokio::runtime::Handle::current(),
        }
    }
}
