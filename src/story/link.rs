//! Links as the page they name: two outlets, or one outlet's two campaigns,
//! that link to one page tell one story.

/// Query parameters that track a click and say nothing about the page.
fn tracking(name: &str) -> bool {
    name.starts_with("utm_")
        || matches!(
            name,
            "fbclid"
                | "gclid"
                | "dclid"
                | "msclkid"
                | "mc_cid"
                | "mc_eid"
                | "igshid"
                | "cmpid"
                | "ocid"
                | "xtor"
                | "at_medium"
                | "at_campaign"
        )
}

/// A link without its tracking parameters (and fragment): the link a
/// scraped item is known by, whatever campaign the page tagged it with.
pub fn untracked(mut url: url::Url) -> url::Url {
    url.set_fragment(None);
    if url.query().is_some() {
        let query: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !tracking(&k.to_ascii_lowercase()))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if query.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(query);
        }
    }
    url
}

/// A link as the page it names: host without `www.`, path without a trailing
/// slash, query without tracking parameters, no scheme, no fragment.
pub fn canonical_link(link: &str) -> Option<String> {
    let url = url::Url::parse(link).ok()?;
    let host = url.host_str()?;
    let host = host.strip_prefix("www.").unwrap_or(host);
    let mut out = String::with_capacity(link.len());
    out.push_str(host);
    if let Some(port) = url.port() {
        out.push(':');
        out.push_str(&port.to_string());
    }
    out.push_str(url.path().trim_end_matches('/'));
    let query: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !tracking(&k.to_ascii_lowercase()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if !query.is_empty() {
        out.push('?');
        out.push_str(
            &url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(query)
                .finish(),
        );
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_links() {
        assert_eq!(
            canonical_link("https://www.Example.com/a/?utm_medium=x&b=2&fbclid=1#f").as_deref(),
            Some("example.com/a?b=2")
        );
        assert_eq!(
            canonical_link("http://example.com:8080/").as_deref(),
            Some("example.com:8080")
        );
        assert_eq!(canonical_link("not a url"), None);
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            untracked(url("https://a.example/n?utm_source=home&id=2#top")).as_str(),
            "https://a.example/n?id=2"
        );
        assert_eq!(
            untracked(url("https://a.example/n?utm_source=home")).as_str(),
            "https://a.example/n"
        );
    }
}
