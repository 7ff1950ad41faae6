//! Publish an article through newswire's ingest API: the smallest client, to copy.
//!
//! ```sh
//! NEWSWIRE_URL=http://127.0.0.1:8080 NEWSWIRE_API_TOKEN=... cargo run --example publish
//! ```
//!
//! `PUT /api/v1/articles/{id}` creates the article or replaces it, so running this
//! twice is safe: the second run answers `"outcome": "unchanged"` and readers never
//! see the article twice. Use `POST /api/v1/articles` instead when a second write with
//! other content should fail (409) rather than correct the first.

use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::var("NEWSWIRE_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let base = base.trim_end_matches('/');
    let token = std::env::var("NEWSWIRE_API_TOKEN")
        .map_err(|_| "set NEWSWIRE_API_TOKEN to a token the server accepts")?;

    // The id is yours: it makes the article's permanent feed id, so keep it stable.
    let id = "example-harbour-reopens";
    let article = json!({
        "title": "Harbour reopens after the storm",
        "category": "morocco",
        // RFC 3339, or "YYYY-MM-DD HH:MM" in the site's time zone.
        "published": "2026-02-02 09:30",
        "author": "Newswire Desk",
        "summary": "Ships are back in port after three days of closure.",
        "content_markdown": "Ships are back in port after three days of closure.\n\nThe harbour master expects normal traffic by Wednesday.",
        "tags": ["weather", "ports"]
    });

    let resp = reqwest::Client::new()
        .put(format!("{base}/api/v1/articles/{id}"))
        .bearer_auth(&token)
        .json(&article)
        .send()
        .await?;
    let status = resp.status();
    let body: Value = resp.json().await?;
    if !status.is_success() {
        // Errors are RFC 9457 problem details naming the field that was wrong.
        return Err(format!(
            "{status}: {} (field: {})",
            body["detail"].as_str().unwrap_or("?"),
            body["field"].as_str().unwrap_or("-")
        )
        .into());
    }

    println!(
        "{} ({status})",
        body["outcome"].as_str().unwrap_or("stored")
    );
    println!("id:   {}", body["id"].as_str().unwrap_or(id));
    println!("guid: {}", body["guid"].as_str().unwrap_or("?"));
    println!("feeds:");
    for feed in body["feeds"].as_array().into_iter().flatten() {
        println!("  {}", feed.as_str().unwrap_or("?"));
    }
    Ok(())
}
