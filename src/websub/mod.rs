//! WebSub (W3C Recommendation, 2018): readers and syndicating sites learn of a
//! change within a second instead of at their next poll.
//!
//! - **Publisher.** Every feed and timeline advertises its hubs and itself
//!   (`rel="hub"`, `rel="self"`) in the document and in `Link` headers; when a
//!   document's bytes change, the change is queued for the built-in hub's
//!   subscribers and the other configured hubs are pinged ([`hub::Hub`]).
//! - **Built-in hub** (`POST /websub/hub`, on by default): subscriptions to
//!   this site's own feeds, verified by the GET challenge, leased, and kept in
//!   the store; each change is delivered with the new body, signed with the
//!   subscriber's secret. Deliveries go through an outbox in the store, so the
//!   same change rendered by several instances is delivered once, and a
//!   delivery a killed instance held is taken over when its claim runs out.
//! - **Subscriber** ([`subscriber`]): external sources that advertise a hub
//!   are subscribed to there, and what their hub pushes is taken as a poll's
//!   document would be, once its signature is checked.

mod deliver;
pub mod hub;
pub mod sign;
pub mod subscriber;

/// The HTTP client for hubs and callbacks: the fetcher's rule on private
/// networks (checked after resolution), no redirects (a hub or a callback
/// answers itself), everything within `timeout`.
fn client(
    config: &crate::config::Config,
    timeout: std::time::Duration,
) -> Result<reqwest::Client, crate::sources::fetch::FetchError> {
    Ok(reqwest::Client::builder()
        .user_agent(crate::sources::fetch::user_agent(Some(config.site_base())))
        .connect_timeout(timeout)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(std::sync::Arc::new(crate::sources::fetch::PublicOnly {
            allow_private: config.fetch.allow_private_networks,
        }))
        .no_proxy()
        .build()?)
}

/// A random token no one can guess: the hub's challenges, our secrets.
fn token() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the system's random source");
    crate::hash::hex(&bytes)
}

/// POSTs a form, as WebSub's requests to hubs are.
async fn post_form(
    client: &reqwest::Client,
    url: &str,
    pairs: &[(&str, &str)],
) -> Result<reqwest::Response, reqwest::Error> {
    let form = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    client
        .post(url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(form)
        .send()
        .await
}
