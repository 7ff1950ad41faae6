//! The HTTP client for everything newswire fetches from other sites: external
//! feeds now, scraped pages and WebSub next. One place turns a response into a
//! decision (Miniflux's fetcher/response handler is the model): fetched, not
//! modified, moved for good, gone, come back later, or failed.
//!
//! The policy, for a polite and safe poller:
//! - **Conditional GET** with the stored ETag and Last-Modified.
//! - **Bounded**: a connect and a total timeout, at most `max_redirects` hops, and
//!   a body limit enforced on the decoded bytes while they stream in, so neither
//!   a huge file nor a compression bomb is held in memory.
//! - **Redirects** are followed here, not by reqwest, so each hop is checked: 301
//!   and 308 give the source a new URL, 302 and 307 do not.
//! - **No private networks**: names are resolved by [`PublicOnly`], which drops
//!   loopback, private, link-local and other non-public addresses (unless the
//!   config allows them), after resolution and on every hop; an address written
//!   in the URL itself is checked the same way.
//! - **Politeness**: a User-Agent naming newswire, its version and the site, and
//!   at most `per_host` requests at once to one host.

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use url::Url;

/// How the fetcher behaves; `Policy::default()` is what a site gets unless its
/// config says otherwise.
#[derive(Debug, Clone)]
pub struct Policy {
    pub user_agent: String,
    pub connect_timeout: Duration,
    /// The whole exchange, redirects and body included.
    pub timeout: Duration,
    /// Largest body, decoded, in bytes.
    pub max_body: usize,
    pub max_redirects: usize,
    pub allow_private_networks: bool,
    /// Requests at once to one host.
    pub per_host: usize,
}

impl Policy {
    /// The policy `[fetch]` configures, with the site in the User-Agent.
    pub fn configured(config: &crate::config::Config) -> Policy {
        let f = &config.fetch;
        Policy {
            user_agent: user_agent(Some(config.site_base())),
            connect_timeout: f.connect_timeout,
            timeout: f.timeout,
            max_body: f.max_body,
            max_redirects: f.max_redirects,
            allow_private_networks: f.allow_private_networks,
            per_host: f.per_host,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            user_agent: user_agent(None),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_body: 8 << 20,
            max_redirects: 5,
            allow_private_networks: false,
            per_host: 2,
        }
    }
}

/// `newswire/0.1.0 (+https://news.example.com)`: who is asking, and where to
/// look if it misbehaves.
pub fn user_agent(site: Option<&str>) -> String {
    let version = env!("CARGO_PKG_VERSION");
    match site {
        Some(site) => format!("newswire/{version} (+{site})"),
        None => format!("newswire/{version}"),
    }
}

/// What a fetch asks for: the URL and the validators stored from the last one.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What a fetch came to. `moved` is set when a permanent redirect (301, 308)
/// was followed: the source's new URL, to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Fetched {
        body: Bytes,
        /// Where the body came from, after every redirect: the base for
        /// relative URLs.
        url: Url,
        moved: Option<Url>,
        etag: Option<String>,
        last_modified: Option<String>,
        content_type: Option<String>,
    },
    NotModified {
        moved: Option<Url>,
    },
    /// 410: the source is gone for good; stop polling it.
    Gone,
    /// 429 or 503 with Retry-After: this source (not its host) waits that long.
    RetryAfter {
        status: u16,
        after: Duration,
    },
    Failed {
        status: Option<u16>,
        error: String,
    },
}

/// A resolver that only hands out public addresses (unless told otherwise), so
/// a name pointing into the local network fails like an unknown one.
#[derive(Debug, Clone)]
pub struct PublicOnly {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow || is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether an address is globally routable unicast: for IPv4 not loopback,
/// private, link-local, shared (CGNAT), documentation, benchmarking,
/// multicast, unspecified or reserved; for IPv6 only the global unicast
/// block 2000::/3, less its special parts (documentation, the IETF protocol
/// assignments of 2001::/23 with Teredo, 6to4's 2002::/16, which carries an
/// IPv4 address of any kind). Everything else is refused, IPv4-compatible
/// (`::/96`), IPv4-mapped (`::ffff:0:0/96`, however it is written),
/// site-local (`fec0::/10`), unique local and NAT64 included: whatever an
/// address embeds, it is not reached.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 192 && b == 88 && c == 99)
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            let [first, second, ..] = v6.segments();
            let global = (first & 0xe000) == 0x2000;
            let documentation = (first == 0x2001 && second == 0x0db8) || (first & 0xfff0) == 0x3ff0;
            let ietf = first == 0x2001 && second < 0x0200;
            let six_to_four = first == 0x2002;
            global && !documentation && !ietf && !six_to_four
        }
    }
}

/// An address written in a URL is not resolved, so [`PublicOnly`] never sees
/// it: it is checked here, before any request to it.
pub fn check_literal(url: &Url, allow_private: bool) -> Result<(), NotPublic> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(url::Host::Domain(_)) => return Ok(()),
        None => return Err(NotPublic::NoHost(url.to_string())),
    };
    if allow_private || is_public(ip) {
        Ok(())
    } else {
        Err(NotPublic::Address(ip))
    }
}

/// An address newswire does not fetch from (see [`is_public`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotPublic {
    #[error("no host in {0}")]
    NoHost(String),
    #[error("{0} is not a public address (fetch.allow_private_networks is off)")]
    Address(IpAddr),
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Idle per-host limiters kept at most.
const HOSTS: usize = 4096;

pub struct Fetcher {
    client: reqwest::Client,
    policy: Policy,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Fetcher {
    pub fn new(policy: Policy) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(policy.user_agent.clone())
            .connect_timeout(policy.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(PublicOnly {
                allow_private: policy.allow_private_networks,
            }))
            .no_proxy()
            .build()?;
        Ok(Fetcher {
            client,
            policy,
            hosts: Mutex::new(HashMap::new()),
        })
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Fetches once, within the total timeout, and says what came of it.
    pub async fn fetch(&self, req: &Request) -> Outcome {
        match tokio::time::timeout(self.policy.timeout, self.follow(req)).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::Failed {
                status: None,
                error: format!("no complete answer within {:?}", self.policy.timeout),
            },
        }
    }

    async fn follow(&self, req: &Request) -> Outcome {
        let failed = |status: Option<u16>, error: String| Outcome::Failed { status, error };
        let mut url = match Url::parse(&req.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            _ => return failed(None, format!("not an http(s) URL: {:?}", req.url)),
        };
        // Permanent as long as every hop so far was permanent.
        let mut permanent = true;
        let mut moved = None;
        for hop in 0..=self.policy.max_redirects {
            if let Err(e) = self.check_literal(&url) {
                return failed(None, e.to_string());
            }
            let host = url.host_str().unwrap_or_default().to_owned();
            let slot = self.slot(&host);
            let _permit = slot.acquire().await;
            let resp = match self
                .client
                .get(url.clone())
                .headers(conditional(req))
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) => return failed(None, describe(&e)),
            };
            let status = resp.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let Some(next) = resp
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| url.join(l).ok())
                else {
                    return failed(
                        Some(status.as_u16()),
                        "a redirect without a usable Location".into(),
                    );
                };
                if hop == self.policy.max_redirects {
                    return failed(
                        Some(status.as_u16()),
                        format!("more than {} redirects", self.policy.max_redirects),
                    );
                }
                permanent &= matches!(
                    status,
                    StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
                );
                if permanent {
                    moved = Some(next.clone());
                }
                url = next;
                continue;
            }
            return self.answer(resp, url, moved).await;
        }
        unreachable!("the loop returns on its last hop")
    }

    fn check_literal(&self, url: &Url) -> Result<(), NotPublic> {
        check_literal(url, self.policy.allow_private_networks)
    }

    /// The limiter of `host`'s requests at once. The map keeps hosts with a
    /// request under way and at most [`HOSTS`] others: an idle limiter holds
    /// nothing a new one would not.
    fn slot(&self, host: &str) -> Arc<Semaphore> {
        let mut hosts = crate::lock::lock(&self.hosts);
        if hosts.len() >= HOSTS && !hosts.contains_key(host) {
            hosts.retain(|_, s| Arc::strong_count(s) > 1);
        }
        hosts
            .entry(host.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.policy.per_host.max(1))))
            .clone()
    }

    async fn answer(&self, mut resp: reqwest::Response, url: Url, moved: Option<Url>) -> Outcome {
        let status = resp.status();
        let code = Some(status.as_u16());
        match status {
            StatusCode::NOT_MODIFIED => return Outcome::NotModified { moved },
            StatusCode::GONE => return Outcome::Gone,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                if let Some(after) = retry_after(resp.headers()) {
                    return Outcome::RetryAfter {
                        status: status.as_u16(),
                        after,
                    };
                }
            }
            _ => {}
        }
        if !status.is_success() {
            return Outcome::Failed {
                status: code,
                error: format!("HTTP {status}"),
            };
        }
        let text = |name: header::HeaderName| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (etag, last_modified, content_type) = (
            text(header::ETAG),
            text(header::LAST_MODIFIED),
            text(header::CONTENT_TYPE),
        );
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > self.policy.max_body {
                        return Outcome::Failed {
                            status: code,
                            error: format!(
                                "the body is over the limit of {} bytes",
                                self.policy.max_body
                            ),
                        };
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return Outcome::Failed {
                        status: code,
                        error: describe(&e),
                    };
                }
            }
        }
        Outcome::Fetched {
            body: body.into(),
            url,
            moved,
            etag,
            last_modified,
            content_type,
        }
    }
}

fn conditional(req: &Request) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Some(v) = req
        .etag
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        h.insert(header::IF_NONE_MATCH, v);
    }
    if let Some(v) = req
        .last_modified
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        h.insert(header::IF_MODIFIED_SINCE, v);
    }
    h
}

/// Retry-After as seconds or an HTTP date (RFC 9110 10.2.3), capped at a day.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    let after = match v.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => httpdate::parse_http_date(v)
            .ok()?
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    };
    Some(after.min(Duration::from_secs(86_400)))
}

/// reqwest's error with its causes, which say what actually went wrong (the
/// resolver's refusal, a reset, a timeout).
fn describe(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "192.0.0.8",
            "::1",
            "::",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "64:ff9b::a00:1",
            // IPv4-compatible, IPv4-mapped in any spelling, site-local,
            // Teredo, 6to4, documentation, discard, multicast.
            "::7f00:1",
            "::a00:1",
            "::8.8.8.8",
            "::ffff:8.8.8.8",
            "::ffff:7f00:1",
            "0:0:0:0:0:ffff:127.0.0.1",
            "fec0::1",
            "feff::1",
            "2001::1",
            "2001:0:4136:e378::1",
            "2002:7f00:1::1",
            "3fff::1",
            "100::1",
            "ff02::1",
            "192.88.99.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "2a00:1450::1",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn idle_host_limiters_are_forgotten() {
        let fetcher = Fetcher::new(Policy::default()).unwrap();
        let held = fetcher.slot("busy.example");
        for i in 0..HOSTS * 2 {
            drop(fetcher.slot(&format!("h{i}.example")));
        }
        let hosts = crate::lock::lock(&fetcher.hosts);
        assert!(hosts.len() <= HOSTS + 1, "{}", hosts.len());
        assert!(hosts.contains_key("busy.example"), "one in use stays");
        drop(hosts);
        drop(held);
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
        h.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO), "a date in the past");
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("9999999"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(86_400)));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }
}
