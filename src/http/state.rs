//! What every request handler shares: the running site, the API's write path,
//! the tokens, and the runtime the store lives on.

use super::auth::Tokens;
use crate::site::Site;
use std::sync::Arc;

pub struct State {
    pub site: Arc<Site>,
    /// The tokens of the config in force, with that config.
    tokens: arc_swap::ArcSwap<(Arc<crate::config::Config>, Arc<Tokens>)>,
    env_token: Option<String>,
    /// The console's templates and sign-in limiter.
    pub(super) console: super::console::pages::Console,
    /// The runtime the store's connections and background tasks live on. API
    /// requests run there; connection workers only serve cached bytes.
    pub(super) main: tokio::runtime::Handle,
}

impl State {
    /// Must be called on the main runtime.
    pub fn new(site: Arc<Site>) -> State {
        let env_token = super::auth::env_token().ok().flatten();
        let config = site.config();
        let tokens = Arc::new(Tokens::new(&config, env_token.clone()));
        State {
            site,
            tokens: arc_swap::ArcSwap::from_pointee((config, tokens)),
            env_token,
            console: super::console::pages::Console::default(),
            main: tokio::runtime::Handle::current(),
        }
    }

    /// The API's writes, which know the store and the config in force, not
    /// the site.
    pub fn ingest(&self) -> crate::ingest::Ingest {
        self.site.ingest()
    }

    /// The tokens of the config in force: a reload that changes them is
    /// in force from the next request.
    pub fn tokens(&self) -> Arc<Tokens> {
        let config = self.site.config();
        let held = self.tokens.load();
        if Arc::ptr_eq(&held.0, &config) {
            return held.1.clone();
        }
        let tokens = Arc::new(Tokens::new(&config, self.env_token.clone()));
        self.tokens.store(Arc::new((config, tokens.clone())));
        tokens
    }
}
