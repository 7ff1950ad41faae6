//! WebSub fan-out: the time from an article's ingest (the API's answer) until
//! the last of SUBSCRIBERS local subscribers has its signed delivery.
//!
//! `cargo bench --bench websub` (NEWSWIRE_BENCH_SUBSCRIBERS=1000 by default):
//! starts the `newswire` binary on a copy of the demo site (SQLite, private
//! callbacks allowed), one callback server on 127.0.0.1 with a path per
//! subscriber, subscribes each to `/feeds/world.atom` through the built-in
//! hub, then posts ROUNDS articles one after the other and reports each
//! round's fan-out time.

#[path = "../tests/common/mod.rs"]
mod common;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROUNDS: usize = 5;
use common::TOKEN;

/// What the callbacks saw: verifications, and per round the time of each
/// delivery that carried the round's title.
#[derive(Default)]
struct Seen {
    verified: usize,
    delivered: Vec<Instant>,
    title: String,
}

async fn callback(
    seen: Arc<Mutex<Seen>>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() == hyper::Method::GET {
        let challenge = url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .find(|(k, _)| k == "hub.challenge")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        seen.lock().unwrap().verified += 1;
        return Ok(Response::new(Full::new(Bytes::from(challenge))));
    }
    let signed = req.headers().contains_key("x-hub-signature");
    let body = req.into_body().collect().await.map(|b| b.to_bytes());
    let at = Instant::now();
    if let Ok(body) = body {
        let mut seen = seen.lock().unwrap();
        let title = seen.title.clone();
        if signed && !title.is_empty() && memchr_contains(&body, title.as_bytes()) {
            seen.delivered.push(at);
        }
    }
    Ok(Response::new(Full::new(Bytes::new())))
}

fn memchr_contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::main]
async fn main() {
    let subscribers: usize = std::env::var("NEWSWIRE_BENCH_SUBSCRIBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    // The tests' way of running the binary on a copy of the demo site.
    let site = common::SiteDir::demo();
    site.append_config("[fetch]\nallow_private_networks = true\n");
    let server = common::Server::start(&site, &[]);
    let base = server.base.clone();

    let seen = Arc::new(Mutex::new(Seen::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callbacks = format!("http://{}", listener.local_addr().unwrap());
    let served = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let seen = served.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| callback(seen.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });

    let client = reqwest::Client::new();
    let topic = "http://127.0.0.1:8080/feeds/world.atom";
    let started = Instant::now();
    let mut asks = tokio::task::JoinSet::new();
    let limit = Arc::new(tokio::sync::Semaphore::new(64));
    for i in 0..subscribers {
        let (client, limit) = (client.clone(), limit.clone());
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("hub.mode", "subscribe")
            .append_pair("hub.topic", topic)
            .append_pair("hub.callback", &format!("{callbacks}/cb/{i}"))
            .append_pair("hub.secret", &format!("secret-{i}"))
            .finish();
        let hub = format!("{base}/websub/hub");
        asks.spawn(async move {
            let _slot = limit.acquire().await;
            let resp = client
                .post(hub)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .expect("the hub answers");
            assert_eq!(resp.status(), 202);
        });
    }
    asks.join_all().await;
    while seen.lock().unwrap().verified < subscribers {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "verifications"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The last subscription is stored just after its echo.
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!(
        "{subscribers} subscribers verified in {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let mut times = Vec::new();
    for round in 0..ROUNDS {
        let title = format!(
            "Fan-out round {round} at {}",
            chrono::Utc::now().timestamp_millis()
        );
        {
            let mut s = seen.lock().unwrap();
            s.title = title.clone();
            s.delivered.clear();
        }
        let article = serde_json::json!({
            "id": format!("fanout-{round}"),
            "title": title,
            "category": "world",
            "published": (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339(),
            "author": "Bench Desk",
            "content_markdown": "A paragraph for the fan-out benchmark.",
        });
        let resp = client
            .post(format!("{base}/api/v1/articles"))
            .bearer_auth(TOKEN)
            .json(&article)
            .send()
            .await
            .unwrap();
        let acked = Instant::now();
        assert_eq!(resp.status(), 201);
        loop {
            let (n, last) = {
                let s = seen.lock().unwrap();
                (s.delivered.len(), s.delivered.iter().max().copied())
            };
            if n >= subscribers {
                let took = last.unwrap().saturating_duration_since(acked);
                println!(
                    "round {round}: {n} deliveries, the last {:.3} s after the ingest",
                    took.as_secs_f64()
                );
                times.push(took);
                break;
            }
            assert!(
                acked.elapsed() < Duration::from_secs(60),
                "round {round}: {n} of {subscribers}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Retries and stragglers settle before the next round.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    times.sort();
    println!(
        "fan-out to {subscribers} subscribers: median {:.3} s, worst {:.3} s (ingest to last delivery)",
        times[times.len() / 2].as_secs_f64(),
        times[times.len() - 1].as_secs_f64()
    );
    assert!(server.stop());
}
