//! Bearer tokens for writes. Tokens come from the config and `NEWSWIRE_API_TOKEN`;
//! only their SHA-256 digests are kept, compared in constant time, never logged.

use crate::config::{Config, Scope};
use hyper::StatusCode;
use hyper::header::{AUTHORIZATION, HeaderMap};
use sha2::{Digest, Sha256};

use super::problem::Problem;

pub const ENV_TOKEN: &str = "NEWSWIRE_API_TOKEN";

/// The shortest token taken, from the config or the environment alike.
pub const MIN_TOKEN: usize = 16;

/// A token in the environment too short to be one.
#[derive(Debug, thiserror::Error)]
#[error("{ENV_TOKEN}: expected at least {MIN_TOKEN} characters (as [[api.token]] tokens)")]
pub struct ShortToken;

/// The token in the environment, if any: refused when shorter than
/// [`MIN_TOKEN`], as config tokens are, so `serve` does not start with it.
pub fn env_token() -> Result<Option<String>, ShortToken> {
    match std::env::var(ENV_TOKEN) {
        Ok(t) if t.is_empty() => Ok(None),
        Ok(t) if t.chars().count() < MIN_TOKEN => Err(ShortToken),
        Ok(t) => Ok(Some(t)),
        Err(_) => Ok(None),
    }
}

struct Known {
    name: String,
    digest: [u8; 32],
    scopes: Vec<Scope>,
}

pub struct Tokens(Vec<Known>);

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Equal digests, without an early exit that would time how much matched.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Tokens {
    pub fn new(config: &Config, env_token: Option<String>) -> Tokens {
        let mut known: Vec<Known> = config
            .api
            .tokens
            .iter()
            .map(|t| Known {
                name: t.name.clone(),
                digest: digest(&t.token),
                scopes: t.scopes.clone(),
            })
            .collect();
        // A short one is never taken, whoever built the tokens.
        if let Some(t) = env_token.filter(|t| t.chars().count() >= MIN_TOKEN) {
            known.push(Known {
                name: ENV_TOKEN.into(),
                digest: digest(&t),
                scopes: vec![Scope::Articles, Scope::Breaking, Scope::Sources],
            });
        }
        Tokens(known)
    }

    /// The token's name if it may write `scope`; 401 without a valid token, 403 with
    /// a valid one that lacks the scope.
    pub fn check(&self, headers: &HeaderMap, scope: Scope) -> Result<&str, Problem> {
        let unauthorized =
            |m: &str| Problem::new(StatusCode::UNAUTHORIZED, m).field("Authorization");
        let value = headers
            .get(AUTHORIZATION)
            .ok_or_else(|| unauthorized("a Bearer token is required for writes"))?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| unauthorized("expected \"Authorization: Bearer <token>\""))?;
        self.named(token, scope)
    }

    /// The name of `token` if it may write `scope`: 401 for an unknown one,
    /// 403 for one without the scope (the console's sign-in form).
    pub fn named(&self, token: &str, scope: Scope) -> Result<&str, Problem> {
        let unauthorized =
            |m: &str| Problem::new(StatusCode::UNAUTHORIZED, m).field("Authorization");
        let given = digest(token);
        // Compare against every token so the time does not say which one matched.
        let mut found = None;
        for k in &self.0 {
            if same(&k.digest, &given) {
                found = Some(k);
            }
        }
        let known = found.ok_or_else(|| unauthorized("unknown token"))?;
        if !known.scopes.contains(&scope) {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                format!("token {:?} may not write {scope:?}", known.name),
            )
            .field("Authorization"));
        }
        Ok(&known.name)
    }
}
