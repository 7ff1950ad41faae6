//! The operator console (`/console/`) through the real server: sign-in with
//! a `sources` token into a session kept in the store, CSRF on every form,
//! failed sign-ins slowed then refused, hostile titles, errors and items
//! shown as text under a strict policy; and in headless Chromium, the scrape
//! editor's live preview following the selectors as the editor types.

mod common;

use common::browser::Browser;
use common::upstream::Upstream;
use common::*;
use serde_json::{Value, json};
use std::time::Duration;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .tls_certs_only([])
        .build()
        .unwrap()
}

/// Signs in with `token`: the session cookie (`name=value`), if it worked.
async fn sign_in(
    server: &Server,
    token: &str,
) -> (u16, Option<String>, reqwest::header::HeaderMap) {
    let resp = no_redirects()
        .post(server.url("/console/signin"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let cookie = headers
        .get("set-cookie")
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned());
    (status, cookie, headers)
}

async fn page(
    server: &Server,
    path: &str,
    cookie: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    let resp = no_redirects()
        .get(server.url(path))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap())
}

/// A form posted in a session: the answer's status and body.
async fn post_form(
    server: &Server,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let resp = no_redirects()
        .post(server.url(path))
        .header("Cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// The CSRF token a page's forms carry.
fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    html[at..at + 64].to_owned()
}

/// The text of a page's alert (why a form was refused), if it has one.
fn alert_of(html: &str) -> Option<&str> {
    let at = html.find("role=\"alert\">")? + "role=\"alert\">".len();
    let len = html[at..].find("</p>")?;
    Some(&html[at..at + len])
}

/// Clicks the element `css` finds.
async fn click(c: &fantoccini::Client, css: &str) {
    c.find(fantoccini::Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn api_get(server: &Server, path: &str) -> (u16, Value) {
    let resp = client()
        .get(server.url(path))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn hostile_site(up: &Upstream) -> SiteDir {
    let site = SiteDir::demo();
    site.append_config(&format!(
        "[fetch]\nallow_private_networks = true\n\n[[sources]]\nname = \"agency\"\nurl = \"{}\"\ntitle = \"<script>alert('title')</script> Agency\"\n\n[[sources]]\nname = \"broken\"\nurl = \"{}\"\n\n[[timelines]]\nname = \"wire\"\ntitle = \"The <b>wire</b>\"\ncategories = [\"world\"]\nsources = [\"agency\", \"broken\"]\nlimit = 30\n",
        up.url("/hostile.xml"),
        // Markup cannot be in a URL (refused as written); an apostrophe and an
        // ampersand can, and must still be escaped wherever the URL is shown.
        up.url("/missing'&onmouseover=alert(1).xml"),
    ));
    site
}

#[tokio::test]
async fn an_editor_signs_in_and_every_form_needs_the_sessions_csrf_token() {
    let up = Upstream::start();
    let site = hostile_site(&up);
    let server = Server::start(&site, &[]);
    // Signed out: pages send to the sign-in, forms are refused.
    let resp = no_redirects()
        .get(server.url("/console/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(resp.headers()["location"], "/console/signin");
    let resp = no_redirects()
        .post(server.url("/console/sources/agency/fetch"))
        .form(&[("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let (status, _, _) = page(&server, "/console/", "newswire_session=forged").await;
    assert_eq!(status, 303, "a forged cookie is no session");

    // A sign-in or a form sent from another site's page (the browser says
    // so, and no page can say otherwise) is refused, token or not.
    for site in ["cross-site", "same-site"] {
        let resp = no_redirects()
            .post(server.url("/console/signin"))
            .header("Sec-Fetch-Site", site)
            .form(&[("token", TOKEN)])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 403, "{site}");
        assert!(resp.headers().get("set-cookie").is_none(), "{site}");
    }
    let resp = no_redirects()
        .post(server.url("/console/signin"))
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[("token", TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        303,
        "the console's own sign-in form"
    );

    let (status, cookie, headers) = sign_in(&server, TOKEN).await;
    assert_eq!(status, 303);
    let set = headers["set-cookie"].to_str().unwrap();
    assert!(
        set.contains("HttpOnly")
            && set.contains("SameSite=Strict")
            && set.contains("Path=/console"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "plain http here: {set}");
    let cookie = cookie.unwrap();

    // Both sources fetched, then the sources page: failing first, as text.
    fetch_now(&server, "agency").await;
    fetch_now(&server, "broken").await;
    let (status, h, html) = page(&server, "/console/", &cookie).await;
    assert_eq!(status, 200);
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'")
            && csp.contains("frame-ancestors 'none'")
            && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(
        html.find("/console/sources/broken").unwrap()
            < html.find("/console/sources/agency").unwrap(),
        "failing first"
    );
    assert!(html.contains("failing") && html.contains("ok"), "{html}");
    assert!(!html.contains("<script>"), "{html}");
    assert!(!html.contains("'&onmouseover"), "{html}");
    // A source's page: settings, attempt log and items, markup as text.
    let (status, _, html) = page(&server, "/console/sources/agency", &cookie).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("&lt;script&gt;alert(&#x27;title&#x27;)&lt;&#x2f;script&gt; Agency")
            || html.contains("&lt;script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(html.contains("fetched"), "the attempt log: {html}");
    assert!(html.contains("<li>"), "its items: {html}");
    // The failing source's page shows its URL, escaped.
    let (status, _, html) = page(&server, "/console/sources/broken", &cookie).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("onmouseover=alert(1).xml") && !html.contains("'&onmouseover"),
        "{html}"
    );
    let (status, _, _) = page(&server, "/console/sources/nope", &cookie).await;
    assert_eq!(status, 404);
    // Timelines: members with their status, the limit, the merged items.
    let (status, _, html) = page(&server, "/console/timelines", &cookie).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("The &lt;b&gt;wire&lt;&#x2f;b&gt;") || html.contains("The &lt;b&gt;wire"),
        "{html}"
    );
    assert!(html.contains("at most 30 items"), "{html}");
    for member in [
        "/console/sources/agency",
        "/console/sources/broken",
        "world",
    ] {
        assert!(html.contains(member), "{member} in {html}");
    }
    assert!(
        html.contains("badge failing") && html.contains("badge ok"),
        "{html}"
    );
    assert!(html.matches("<li>").count() >= 3, "merged items: {html}");
    assert!(
        !html.contains("<script>alert") && !html.contains("<b>wire"),
        "{html}"
    );

    // Fetch now: without the token, with a wrong one, then with the right one.
    let csrf = csrf_of(&html);
    for bad in [
        vec![],
        vec![("csrf", "0".repeat(64))],
        vec![("csrf", csrf.replace(&csrf[..1], "x"))],
    ] {
        let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, _) = post_form(&server, "/console/sources/agency/fetch", &cookie, &bad).await;
        assert_eq!(status, 403, "{bad:?}");
    }
    let resp = no_redirects()
        .post(server.url("/console/sources/agency/fetch"))
        .header("Cookie", &cookie)
        .header("Sec-Fetch-Site", "cross-site")
        .form(&[("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        403,
        "the right token from elsewhere"
    );
    let (status, _) = post_form(
        &server,
        "/console/sources/agency/fetch",
        &cookie,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 303);
    let (_, _, html) = page(&server, "/console/sources/agency", &cookie).await;
    assert!(
        html.contains("not_modified") || html.matches("fetched").count() >= 2,
        "{html}"
    );

    // Pause through the console, resume through the API: the status follows
    // on every page, and the schedule leaves a paused source alone.
    let (status, _) = post_form(
        &server,
        "/console/sources/agency/pause",
        &cookie,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 303);
    let (_, _, html) = page(&server, "/console/", &cookie).await;
    assert!(
        html.contains("badge paused") && html.contains("/console/sources/agency/resume"),
        "{html}"
    );
    let api = |path: &str| client().post(server.url(path)).bearer_auth(TOKEN);
    let resp = client()
        .get(server.url("/api/v1/sources/agency"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap()["status"], "paused");
    let resp = api("/api/v1/sources/agency/resume").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["status"], "ok");
    let resp = api("/api/v1/sources/nope/pause").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let resp = client()
        .post(server.url("/api/v1/sources/agency/pause"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401, "the API's token");
    let (status, _) = post_form(&server, "/console/sources/agency/pause", &cookie, &[]).await;
    assert_eq!(status, 403, "the form's CSRF token");

    // The live preview's endpoint: the header token, JSON.
    let ask = json!({"url": up.url("/rss2.xml")});
    let resp = no_redirects()
        .post(server.url("/console/preview.json"))
        .header("Cookie", &cookie)
        .json(&ask)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403, "no CSRF header");
    let resp = no_redirects()
        .post(server.url("/console/preview.json"))
        .header("Cookie", &cookie)
        .header("X-CSRF-Token", &csrf)
        .json(&ask)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["kind"], "feed");
    // The same form without a script: the preview in the page, as text.
    let hostile = up.url("/hostile.xml");
    let (status, html) = post_form(
        &server,
        "/console/preview",
        &cookie,
        &[("csrf", &csrf), ("url", &hostile)],
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("feed") && !html.contains("<script>alert"),
        "{html}"
    );
    // Saving and deleting need the token too, and write nothing without it.
    for (path, form) in [
        ("/console/sources/add", vec![("url", up.url("/rss2.xml"))]),
        (
            "/console/scrapes/add",
            vec![
                ("url", up.url("/walaw/")),
                ("name", "w".into()),
                ("list.item", "li".into()),
            ],
        ),
        ("/console/sources/agency/delete", vec![]),
    ] {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, _) = post_form(&server, path, &cookie, &form).await;
        assert_eq!(status, 403, "{path}");
    }
    let (status, html) = post_form(
        &server,
        "/console/sources/agency/delete",
        &cookie,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 200, "a declared source is refused on the page");
    assert!(html.contains("declared in"), "{html}");
    // Saved through the form: a hostile title is stored as given and shown
    // as text; a refusal comes back on the form, naming its field.
    let (status, html) = post_form(
        &server,
        "/console/sources/add",
        &cookie,
        &[
            ("csrf", &csrf),
            ("url", &up.url("/rss2.xml")),
            ("name", "wire"),
            ("title", "<script>alert(1)</script>"),
        ],
    )
    .await;
    assert_eq!(status, 303, "{html}");
    let (_, _, html) = page(&server, "/console/sources/wire", &cookie).await;
    assert!(
        html.contains("&lt;script&gt;alert(1)") && !html.contains("<script>alert"),
        "{html}"
    );
    let (status, html) = post_form(
        &server,
        "/console/sources/add",
        &cookie,
        &[
            ("csrf", &csrf),
            ("url", &up.url("/atom10.xml")),
            ("name", "Bad Name!"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("name: expected lowercase letters"), "{html}");

    // Signed out: the cookie is no session any more, on this or any instance.
    let (status, _) = post_form(&server, "/console/signout", &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(status, 303);
    let (status, _, _) = page(&server, "/console/", &cookie).await;
    assert_eq!(status, 303);
    assert!(server.stop());
}

/// An editor makes a timeline in the console of the sources and local
/// feeds in force, sees it served, and deletes it: the form goes through the
/// API's checks (a refusal shown beside what was typed, nothing written), a
/// title with markup is text, and a timeline the config file declares
/// cannot be deleted here.
#[tokio::test]
async fn an_editor_makes_and_deletes_a_timeline_in_the_console() {
    let up = Upstream::start();
    let site = hostile_site(&up);
    let server = Server::start(&site, &[]);
    fetch_now(&server, "agency").await;
    let (_, cookie, _) = sign_in(&server, TOKEN).await;
    let cookie = cookie.unwrap();
    let (status, _, html) = page(&server, "/console/timelines", &cookie).await;
    assert_eq!(status, 200);
    let csrf = csrf_of(&html);
    // The form offers the sources and local feeds in force.
    for offered in [
        "name=\"sources\" value=\"agency\"",
        "name=\"sources\" value=\"broken\"",
        "name=\"categories\" value=\"world\"",
        "name=\"categories\" value=\"breaking\"",
    ] {
        assert!(html.contains(offered), "{offered} in {html}");
    }
    assert!(
        !html.contains("/console/timelines/wire/delete")
            && html.contains("Declared in newswire.toml"),
        "a declared timeline has no delete: {html}"
    );
    let desk = [
        ("name", "desk"),
        ("title", "Desk <i>picks</i>"),
        ("sources", "agency"),
        ("categories", "world"),
        ("categories", "tech"),
        ("limit", "5"),
    ];
    // Without the session's token: refused, nothing written.
    let (status, _) = post_form(&server, "/console/timelines/add", &cookie, &desk).await;
    assert_eq!(status, 403);
    assert_eq!(api_get(&server, "/api/v1/timelines/desk").await.0, 404);
    // Refusals: shown on the form with what was typed; nothing written.
    for (key, bad, said) in [
        ("name", "Desk Picks", "name:"),
        ("name", "wire", "name:"),
        ("limit", "lots", "limit:"),
        ("title", "Desk \u{1}", "title:"),
    ] {
        let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        form.extend(desk.iter().filter(|(k, _)| *k != key).copied());
        form.push((key, bad));
        let (status, html) = post_form(&server, "/console/timelines/add", &cookie, &form).await;
        assert_eq!(status, 200, "{key}={bad}: {html}");
        let alert = alert_of(&html).unwrap_or_else(|| panic!("{key}={bad}: no alert in {html}"));
        assert!(alert.starts_with(said), "{key}={bad}: {alert}");
        assert!(
            html.contains("value=\"agency\" checked") && html.contains("value=\"tech\" checked"),
            "the boxes stay checked: {html}"
        );
        if key != "name" {
            assert_eq!(api_get(&server, "/api/v1/timelines/desk").await.0, 404);
        }
    }
    let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf)];
    form.extend(desk);
    let (status, _) = post_form(&server, "/console/timelines/add", &cookie, &form).await;
    assert_eq!(status, 303);
    let (status, made) = api_get(&server, "/api/v1/timelines/desk").await;
    assert_eq!(status, 200, "{made}");
    assert_eq!(made["declared"], false, "{made}");
    assert_eq!(made["entry"]["sources"], json!(["agency"]), "{made}");
    assert_eq!(
        made["entry"]["categories"],
        json!(["world", "tech"]),
        "{made}"
    );
    assert_eq!(made["entry"]["limit"], 5, "{made}");
    let served = eventually(Duration::from_secs(5), || async {
        let (status, _, body) = get(&server.url("/timelines/desk.rss"), &[]).await;
        (status == 200).then(|| String::from_utf8(body).unwrap())
    })
    .await
    .expect("the new timeline is served");
    assert!(served.contains("Desk &lt;i&gt;picks&lt;/i&gt;"), "{served}");
    let (_, _, html) = page(&server, "/console/timelines", &cookie).await;
    assert!(html.contains("/console/timelines/desk/delete"), "{html}");
    assert!(html.contains("href=\"/console/timelines/desk\""), "{html}");
    assert!(!html.contains("<i>picks"), "{html}");
    // Edited: the form filled with what it holds, its name fixed.
    let (status, _, html) = page(&server, "/console/timelines/desk", &cookie).await;
    assert_eq!(status, 200);
    for filled in [
        "action=\"/console/timelines/desk/save\"",
        "value=\"desk\" pattern=\"[a-z0-9-]+\" required readonly",
        "value=\"Desk &lt;i&gt;picks&lt;&#x2f;i&gt;\"",
        "value=\"agency\" checked",
        "value=\"world\" checked",
        "value=\"tech\" checked",
        "name=\"limit\" value=\"5\"",
    ] {
        assert!(html.contains(filled), "{filled} in {html}");
    }
    assert!(!html.contains("value=\"broken\" checked"), "{html}");
    assert_eq!(
        page(&server, "/console/timelines/nope", &cookie).await.0,
        404
    );
    let edited = [
        ("csrf", csrf.as_str()),
        // The path names the timeline, not the form.
        ("name", "other"),
        ("title", "Desk, edited"),
        ("sources", "agency"),
        ("sources", "broken"),
        ("categories", "world"),
    ];
    let mut bad = edited.to_vec();
    bad.push(("limit", "x"));
    let (status, html) = post_form(&server, "/console/timelines/desk/save", &cookie, &bad).await;
    assert_eq!(status, 200);
    let alert = alert_of(&html).expect("why the edit was refused");
    assert!(alert.starts_with("limit:"), "{alert}");
    assert!(
        html.contains("value=\"Desk, edited\""),
        "what was typed stays: {html}"
    );
    assert_eq!(
        api_get(&server, "/api/v1/timelines/desk").await.1["entry"]["title"],
        "Desk <i>picks</i>",
        "nothing written"
    );
    let (status, _) = post_form(&server, "/console/timelines/desk/save", &cookie, &edited).await;
    assert_eq!(status, 303);
    let (_, made) = api_get(&server, "/api/v1/timelines/desk").await;
    assert_eq!(made["entry"]["title"], "Desk, edited", "{made}");
    assert_eq!(
        made["entry"]["sources"],
        json!(["agency", "broken"]),
        "{made}"
    );
    assert_eq!(made["entry"]["categories"], json!(["world"]), "{made}");
    assert!(
        made["entry"].get("limit").is_none(),
        "the default again: {made}"
    );
    assert_eq!(api_get(&server, "/api/v1/timelines/other").await.0, 404);
    let retitled = eventually(Duration::from_secs(5), || async {
        let (_, _, body) = get(&server.url("/timelines/desk.rss"), &[]).await;
        String::from_utf8(body)
            .unwrap()
            .contains("Desk, edited")
            .then_some(())
    })
    .await;
    assert!(retitled.is_some(), "the feed follows the edit");
    // A declared timeline is the file's: not edited here. Its page says
    // where to change it and offers no form to save.
    let (status, _, html) = page(&server, "/console/timelines/wire", &cookie).await;
    assert_eq!(status, 200);
    assert!(
        alert_of(&html).is_some_and(|a| a.contains("declared in newswire.toml")),
        "{html}"
    );
    assert!(!html.contains("/console/timelines/wire/save"), "{html}");
    let (status, html) = post_form(
        &server,
        "/console/timelines/wire/save",
        &cookie,
        &[("csrf", &csrf), ("title", "Mine now")],
    )
    .await;
    assert_eq!(status, 200);
    let alert = alert_of(&html).expect("why the declared one stays");
    assert!(alert.starts_with("name:"), "{alert}");
    assert_eq!(
        api_get(&server, "/api/v1/timelines/wire").await.1["entry"]["title"],
        "The <b>wire</b>"
    );
    // The declared one stays; the made one goes.
    let (status, html) = post_form(
        &server,
        "/console/timelines/wire/delete",
        &cookie,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 200);
    let alert = alert_of(&html).expect("why the declared one stays");
    assert!(alert.starts_with("wire:"), "{alert}");
    assert_eq!(api_get(&server, "/api/v1/timelines/wire").await.0, 200);
    let (status, _) = post_form(
        &server,
        "/console/timelines/desk/delete",
        &cookie,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(api_get(&server, "/api/v1/timelines/desk").await.0, 404);
    let gone = eventually(Duration::from_secs(5), || async {
        let (status, _, _) = get(&server.url("/timelines/desk.rss"), &[]).await;
        (status == 404).then_some(())
    })
    .await;
    assert!(gone.is_some(), "its feeds are no longer served");
    assert!(server.stop());
}

/// A managed timeline the config file no longer fits (its category gone)
/// is listed on the console's timelines page with why, and deleted there.
#[tokio::test]
async fn a_timeline_left_out_of_the_config_is_shown_and_deleted_in_the_console() {
    let site = SiteDir::demo();
    let good = std::fs::read_to_string(site.config()).unwrap();
    site.append_config("\n[[category]]\nslug = \"culture\"\ntitle = \"Culture\"\n");
    let server = Server::start(&site, &[]);
    let resp = client()
        .post(server.url("/api/v1/timelines"))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "arts", "title": "Arts", "categories": ["culture"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    std::fs::write(site.config(), &good).unwrap();
    let (_, cookie, _) = sign_in(&server, TOKEN).await;
    let cookie = cookie.unwrap();
    let html = eventually(Duration::from_secs(5), || async {
        let (_, _, html) = page(&server, "/console/timelines", &cookie).await;
        html.contains("id=\"left-out\"").then_some(html)
    })
    .await
    .expect("the timeline left out is listed");
    assert!(
        html.contains("<strong>arts</strong>") && html.contains("culture"),
        "{html}"
    );
    assert!(html.contains("/console/timelines/arts/delete"), "{html}");
    let (status, _) = post_form(
        &server,
        "/console/timelines/arts/delete",
        &cookie,
        &[("csrf", &csrf_of(&html))],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(api_get(&server, "/api/v1/timelines/arts").await.0, 404);
    let (_, _, html) = page(&server, "/console/timelines", &cookie).await;
    assert!(!html.contains("id=\"left-out\""), "{html}");
    let (_, health) = api_get(&server, "/healthz").await;
    assert_eq!(health["status"], "ok", "{health}");
    assert!(server.stop());
}

#[tokio::test]
async fn failed_sign_ins_are_slowed_then_refused_per_address() {
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    let started = std::time::Instant::now();
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(sign_in(&server, "wrong-token-0123456789").await.0);
    }
    assert_eq!(&statuses[..5], [401; 5], "{statuses:?}");
    assert_eq!(statuses[6], 429, "{statuses:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(5 * 400),
        "each failure costs time"
    );
    // A token without the sources scope signs no one in.
    site.append_config("[[api.token]]\nname = \"writer\"\ntoken = \"writer-token-0123456789abcdef\"\nscopes = [\"articles\"]\n");
    assert!(server.stop());
    let server = Server::start(&site, &[]);
    let (status, cookie, _) = sign_in(&server, "writer-token-0123456789abcdef").await;
    assert_eq!((status, cookie), (401, None));
    assert!(server.stop());
}

#[tokio::test]
async fn the_scrape_editor_previews_live_in_a_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let up = Upstream::start();
    let page = std::fs::read_to_string("tests/fixtures/site/index.html")
        .unwrap()
        .replace("{T0}", "17:00")
        .replace("{T1}", "16:40")
        .replace("{T2}", "16:20");
    up.set("/walaw/", "text/html; charset=utf-8", page);
    let site = hostile_site(&up);
    let server = Server::start(&site, &[]);
    fetch_now(&server, "agency").await;
    fetch_now(&server, "broken").await;
    let c = &browser.client;
    c.goto(&server.url("/console/")).await.unwrap();
    let token = c
        .find(fantoccini::Locator::Css("input[name=token]"))
        .await
        .unwrap();
    token.send_keys(TOKEN).await.unwrap();
    click(c, "form[action='/console/signin'] button").await;
    let rows = browser
        .until(Duration::from_secs(5), "const r = document.querySelectorAll('tbody tr'); return r.length ? [...r].map(x => x.className) : null;")
        .await;
    assert_eq!(rows, json!(["st-failing", "st-ok"]), "failing first");
    browser.screenshot("console-sources.png").await;
    let ran = c
        .execute(
            "return window.__pwned === undefined && !document.querySelector('tbody script');",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(ran, true);

    // Add: a site's address gives the feeds it names; one is previewed, with
    // what to declare.
    up.set(
        "/news/",
        "text/html",
        format!("<html><head><link rel=alternate type=application/rss+xml title=\"The agency\" href=\"{}\"></head><body>News</body></html>", up.url("/rss2.xml")),
    );
    c.goto(&server.url("/console/preview")).await.unwrap();
    c.find(fantoccini::Locator::Css("input[name='url']"))
        .await
        .unwrap()
        .send_keys(&up.url("/news/"))
        .await
        .unwrap();
    let found = browser
        .until(Duration::from_secs(10), "const f = document.querySelector('#preview-result .found li'); return f ? f.textContent : null;")
        .await;
    assert!(found.as_str().unwrap().contains("The agency"), "{found}");
    click(c, "#preview-result .found button").await;
    let suggested = browser
        .until(Duration::from_secs(10), "const f = document.querySelector('#save-source input[name=name]'); if (!f || !document.querySelectorAll('#preview-result ol.items li').length) return null; f.form.dataset.seen = '1'; return f.value;")
        .await;
    assert_eq!(suggested, "127-0-0-1", "named after its host");
    // The click blurred the address field ("change", a run scheduled 300 ms
    // on): the click's own run supersedes it, so the save form the editor
    // starts filling in is not drawn again under them.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let kept = c
        .execute(
            "const f = document.querySelector('#save-source'); return !!f && f.dataset.seen === '1';",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(kept, json!(true), "the save form is not redrawn");
    browser.screenshot("console-add.png").await;
    // Saved under a name of the editor's: fetched once, shown on its page.
    let name = c
        .find(fantoccini::Locator::Css("#save-source input[name=name]"))
        .await
        .unwrap();
    name.clear().await.unwrap();
    name.send_keys("the-agency").await.unwrap();
    click(c, "#save-source button").await;
    let saved = browser
        .until(Duration::from_secs(10), "return location.pathname === '/console/sources/the-agency' && document.querySelector('table') ? document.body.textContent : null;")
        .await;
    let saved = saved.as_str().unwrap();
    assert!(
        saved.contains("fetched") && saved.contains(&up.url("/rss2.xml")),
        "{saved}"
    );
    browser.screenshot("console-source.png").await;

    // The scrape editor: type the address and an item selector, watch the
    // preview fill; add a selector that matches nothing, watch it marked.
    c.goto(&server.url("/console/preview")).await.unwrap();
    let field = |name: &'static str| async move {
        c.find(fantoccini::Locator::Css(&format!("input[name='{name}']")))
            .await
            .unwrap()
    };
    field("url")
        .await
        .send_keys(&up.url("/walaw/"))
        .await
        .unwrap();
    field("list.item")
        .await
        .send_keys("ul.ticker li")
        .await
        .unwrap();
    let items = browser
        .until(Duration::from_secs(10), "const l = document.querySelectorAll('#preview-result ol.items li'); return l.length ? l.length : null;")
        .await;
    assert_eq!(items, 3);
    field("list.title")
        .await
        .send_keys(".nothing-here")
        .await
        .unwrap();
    let marked = browser
        .until(Duration::from_secs(10), "const m = document.querySelector('[data-match=\"list.title\"]'); return m && m.textContent === 'matches nothing' ? m.className : null;")
        .await;
    assert!(marked.as_str().unwrap().contains("none"), "{marked}");
    browser.screenshot("console-scrape-editor.png").await;
    // Without the selector that matches nothing, into the ticker, saved as
    // a scrape.
    field("list.title").await.clear().await.unwrap();
    field("category").await.send_keys("breaking").await.unwrap();
    browser
        .until(Duration::from_secs(10), "const m = document.querySelector('[data-match=\"list.title\"]'); return m && m.textContent === '' && document.getElementById('save-scrape') ? true : null;")
        .await;
    let name = c
        .find(fantoccini::Locator::Css("#save-scrape input[name=name]"))
        .await
        .unwrap();
    name.clear().await.unwrap();
    name.send_keys("walaw").await.unwrap();
    click(c, "#save-scrape button").await;
    let saved = browser
        .until(Duration::from_secs(10), "return location.pathname === '/console/sources/walaw' || document.querySelector('#preview-result .error') ? document.body.textContent : null;")
        .await;
    assert!(saved.as_str().unwrap().contains("Attempts"), "{saved}");
    let (_, scrape) = api_get(&server, "/api/v1/scrapes/walaw").await;
    assert_eq!(scrape["entry"]["list"]["item"], "ul.ticker li", "{scrape}");
    assert_eq!(scrape["items"], 3, "{scrape}");

    // A timeline of the saved feed and the ticker, made on the timelines
    // page: its card shows the merged items.
    c.goto(&server.url("/console/timelines")).await.unwrap();
    click(c, "#new-timeline summary").await;
    c.find(fantoccini::Locator::Css("#new-timeline input[name=name]"))
        .await
        .unwrap()
        .send_keys("agency-and-ticker")
        .await
        .unwrap();
    c.find(fantoccini::Locator::Css("#new-timeline input[name=title]"))
        .await
        .unwrap()
        .send_keys("The agency and the ticker")
        .await
        .unwrap();
    for member in [
        "input[name=sources][value=the-agency]",
        "input[name=sources][value=walaw]",
    ] {
        click(c, &format!("#new-timeline {member}")).await;
    }
    browser.screenshot("console-timeline-new.png").await;
    click(c, "#new-timeline button").await;
    let card = browser
        .until(Duration::from_secs(10), "const h = [...document.querySelectorAll('section.card h2')].find(h => h.textContent.includes('The agency and the ticker')); return h && document.readyState === 'complete' ? h.parentElement.querySelectorAll('ol.items li').length : null;")
        .await;
    assert!(card.as_u64().unwrap() >= 3, "merged items: {card}");
    browser.screenshot("console-timelines.png").await;
    // Deleted again (after the confirmation), so that its sources can go.
    click(
        c,
        "form[action='/console/timelines/agency-and-ticker/delete'] button",
    )
    .await;
    c.accept_alert().await.unwrap();
    browser
        .until(Duration::from_secs(10), "return location.pathname === '/console/timelines' && document.readyState === 'complete' && !document.body.textContent.includes('The agency and the ticker') ? true : null;")
        .await;
    assert_eq!(
        api_get(&server, "/api/v1/timelines/agency-and-ticker")
            .await
            .0,
        404
    );

    // Pause the scrape and delete the feed from the sources page.
    c.goto(&server.url("/console/")).await.unwrap();
    click(c, "form[action='/console/sources/walaw/pause'] button").await;
    // The form's answer sends the browser to the source's page: wait for it,
    // or it can land after the next navigation and replace the sources page.
    browser
        .until(Duration::from_secs(10), "return location.pathname === '/console/sources/walaw' && document.readyState === 'complete' ? true : null;")
        .await;
    c.goto(&server.url("/console/")).await.unwrap();
    let paused = browser
        .until(Duration::from_secs(10), "const r = [...document.querySelectorAll('tbody tr')].find(r => r.textContent.includes('walaw')); return r ? r.className : null;")
        .await;
    assert_eq!(paused, "st-paused");
    assert!(
        c.find(fantoccini::Locator::Css(
            "form[action='/console/sources/agency/delete']"
        ))
        .await
        .is_err(),
        "a declared source is the file's"
    );
    click(
        c,
        "form[action='/console/sources/the-agency/delete'] button",
    )
    .await;
    c.accept_alert().await.unwrap();
    let gone = browser
        .until(Duration::from_secs(10), "return location.pathname === '/console/' && ![...document.querySelectorAll('tbody tr')].some(r => r.textContent.includes('the-agency')) ? true : null;")
        .await;
    assert_eq!(gone, true);
    let (status, _) = api_get(&server, "/api/v1/sources/the-agency").await;
    assert_eq!(status, 404);
    browser.client.clone().close().await.unwrap();
    assert!(server.stop());
}
