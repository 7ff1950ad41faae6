//! The widget in a real browser, on another origin: a host page on another
//! port of 127.0.0.1 embeds the frame and the script, with aggressive CSS of
//! its own and, in a second variant, a strict Content-Security-Policy.
//! Headless Chromium (through chromedriver) renders them; the test checks the
//! headlines, links and times against the widget's data, that neither page's
//! styles reach the other, and that titles carrying markup and scripts are
//! text. The builder on a feed's page previews what its options choose.

mod common;

use common::browser::Browser;
use common::upstream::Upstream;
use common::*;
use serde_json::{Value, json};
use std::time::Duration;

const HOSTILE: &str =
    "<img src=x onerror=\"window.pwned=1\"><script>window.pwned=1</script> Rabat: hostile headline";

/// CSS a careless host page has: it must not reach the widget.
const AGGRESSIVE: &str = "* { color: rgb(255, 0, 0) !important; font-family: monospace !important; }
li { border: 5px solid rgb(0, 200, 0) !important; margin: 30px !important; list-style: square !important; }
a { background: rgb(255, 255, 0) !important; text-transform: uppercase !important; }
h2, p { font-size: 40px !important; }";

/// What the script widget in the page shows, read through its shadow root.
const READ_SCRIPTED: &str = "const host = document.querySelector('.newswire-widget');
if (!host || !host.shadowRoot) return null;
const items = [...host.shadowRoot.querySelectorAll('li')];
if (items.length === 0) return null;
return items.map(li => { const a = li.querySelector('a'); const t = li.querySelector('time');
  return { title: a.textContent, href: a.href, datetime: t.getAttribute('datetime'), when: t.textContent,
    color: getComputedStyle(a).color, background: getComputedStyle(a).backgroundColor,
    transform: getComputedStyle(a).textTransform, border: getComputedStyle(li).borderTopWidth,
    images: li.querySelectorAll('img, script').length }; });";

/// The same, in the framed page (the test has entered the frame).
const READ_FRAMED: &str = "const items = [...document.querySelectorAll('li')];
if (items.length === 0) return null;
return items.map(li => { const a = li.querySelector('a'); const t = li.querySelector('time');
  return { title: a.textContent, href: a.href, datetime: t.getAttribute('datetime'), when: t.textContent,
    color: getComputedStyle(a).color, background: getComputedStyle(a).backgroundColor,
    transform: getComputedStyle(a).textTransform, border: getComputedStyle(li).borderTopWidth,
    images: li.querySelectorAll('img, script').length }; });";

fn host_page(nw: &str, head: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\">{head}<title>Host</title></head><body>
<h1>A partner site</h1>
<ul><li class=\"host-item\"><a href=\"#\">The host's own link</a></li></ul>
<iframe id=\"frame\" src=\"{nw}/embed/world.html?limit=3\" title=\"Headlines\" data-newswire style=\"width:100%;border:0\" height=\"60\"></iframe>
<script src=\"{nw}/embed/world.js\" data-limit=\"3\" async></script>
</body></html>"
    )
}

fn check_list(seen: &Value, data: &Value, how: &str) {
    let seen = seen.as_array().unwrap();
    let items = data["items"].as_array().unwrap();
    assert_eq!(
        seen.len(),
        items.len(),
        "{how}: as many headlines as the data"
    );
    for (li, item) in seen.iter().zip(items) {
        assert_eq!(li["title"], item["title"], "{how}: title as text");
        assert_eq!(li["href"], item["url"], "{how}: link");
        assert_eq!(li["datetime"], item["date_published"], "{how}: time");
        assert_eq!(li["when"], item["when"], "{how}: time in the site's words");
        assert_ne!(
            li["color"], "rgb(255, 0, 0)",
            "{how}: the host's color stays out"
        );
        assert_ne!(
            li["background"], "rgb(255, 255, 0)",
            "{how}: the host's background stays out"
        );
        assert_eq!(
            li["transform"], "none",
            "{how}: the host's text-transform stays out"
        );
        assert_eq!(li["images"], 0, "{how}: markup in titles is text");
    }
    // The widget's own styles apply: hairlines between headlines, not the
    // host's 5px borders (the first has none).
    assert_eq!(seen[1]["border"], "1px", "{how}: the widget's styles apply");
}

#[tokio::test]
async fn the_widget_renders_on_another_origin_untouched_by_the_hosts_css_and_csp() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let site = SiteDir::demo();
    let server = Server::start(&site, &[]);
    let resp = client()
        .post(server.url("/api/v1/articles"))
        .bearer_auth(TOKEN)
        .json(&json!({"id": "hostile-widget", "title": HOSTILE, "category": "world", "published": "2026-11-30 09:00"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let nw = server.url("");
    let nw = nw.trim_end_matches('/');
    let data = eventually(Duration::from_secs(5), || async {
        let (_, _, body) = get(&server.url("/embed/world.json?limit=3"), &[]).await;
        let data: Value = serde_json::from_slice(&body).unwrap();
        let title = data["items"][0]["title"].as_str().unwrap_or("");
        (title.contains("<script>") && title.contains("hostile headline")).then_some(data)
    })
    .await
    .expect("the hostile headline is the newest");

    let host = Upstream::start();
    host.set("/aggressive.html", "text/html; charset=utf-8", host_page(nw, &format!(
        "<style>{AGGRESSIVE}</style>
<script>addEventListener('message', e => {{ if (e.origin !== '{nw}' || !e.data || e.data.newswire !== 'resize') return;
  for (const f of document.querySelectorAll('iframe[data-newswire]')) if (f.contentWindow === e.source) f.style.height = e.data.height + 'px'; }});</script>"
    )));
    // Strict: nothing inline, styles only from the host itself, scripts,
    // data and frames only from newswire.
    host.set("/host.css", "text/css", AGGRESSIVE);
    host.set("/strict.html", "text/html; charset=utf-8", host_page(nw, &format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'self'; script-src {nw}; connect-src {nw}; frame-src {nw}; img-src {nw}\">
<link rel=\"stylesheet\" href=\"/host.css\">"
    )));

    for variant in ["aggressive", "strict"] {
        let c = &browser.client;
        c.goto(&host.url(&format!("/{variant}.html")))
            .await
            .unwrap();
        let scripted = browser.until(Duration::from_secs(10), READ_SCRIPTED).await;
        check_list(&scripted, &data, &format!("{variant}: script"));
        // The host's own list keeps the host's styles: the widget's stay in.
        let host_li = browser
            .until(
                Duration::from_secs(2),
                "return getComputedStyle(document.querySelector('.host-item')).borderTopWidth;",
            )
            .await;
        assert_eq!(
            host_li, "5px",
            "{variant}: the host's styles hold on the host's list"
        );
        let pwned = c
            .execute("return window.pwned === undefined;", vec![])
            .await
            .unwrap();
        assert_eq!(pwned, true, "{variant}: nothing in a title ran");
        if variant == "aggressive" {
            // The frame told the host its height.
            let height = browser
                .until(Duration::from_secs(5), "const h = parseInt(document.getElementById('frame').style.height); return h > 100 ? h : null;")
                .await;
            assert!(height.as_i64().unwrap() > 100);
            browser.screenshot("embed-host.png").await;
        }
        c.enter_frame(0).await.unwrap();
        let framed = browser.until(Duration::from_secs(10), READ_FRAMED).await;
        check_list(&framed, &data, &format!("{variant}: frame"));
        let pwned = c
            .execute("return window.pwned === undefined;", vec![])
            .await
            .unwrap();
        assert_eq!(
            pwned, true,
            "{variant}: nothing in a title ran in the frame"
        );
        c.enter_parent_frame().await.unwrap();
    }

    // The builder: choosing two headlines changes the preview and the snippet.
    let c = &browser.client;
    c.goto(&server.url("/feeds/world.html")).await.unwrap();
    let limit = c
        .find(fantoccini::Locator::Css("#nw-builder input[name=limit]"))
        .await
        .unwrap();
    limit.clear().await.unwrap();
    limit.send_keys("2").await.unwrap();
    let snippet = browser
        .until(Duration::from_secs(5), "const s = document.getElementById('nw-snippet-script').textContent; return s.includes('data-limit=\"2\"') ? s : null;")
        .await;
    assert!(
        snippet.as_str().unwrap().contains("/embed/world.js"),
        "{snippet}"
    );
    browser
        .until(Duration::from_secs(5), "const d = document.getElementById('nw-preview').contentDocument; return d && d.querySelectorAll('li').length === 2;")
        .await;
    c.execute("document.getElementById('embed').scrollIntoView();", vec![])
        .await
        .unwrap();
    browser.screenshot("embed-builder.png").await;
    browser.client.clone().close().await.unwrap();
    assert!(server.stop());
}
