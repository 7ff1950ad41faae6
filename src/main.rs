//! The `newswire` command: a thin layer that parses arguments and calls the library.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use futures_util::StreamExt;
use newswire::config::Config;
use newswire::content::files;
use newswire::site::Site;
use newswire::sources::scrape;
use newswire::store::{self, Store};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "newswire",
    version,
    about = "RSS 2.0, Atom 1.0 and JSON Feed 1.1 feeds for a news site, served from pre-rendered bytes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the site's feeds over HTTP, reloading content files as they change.
    Serve {
        #[command(flatten)]
        site: SiteArgs,
        /// Address to listen on (overrides [server] listen; port 0 picks a free port).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Write every document `serve` would answer to a folder, for static hosting.
    Build {
        #[command(flatten)]
        site: SiteArgs,
        /// Output folder: gets feeds/{slug}.{rss,atom,json,html}, feeds.opml, index.html,
        /// and every archive page, feeds/{slug}/archive/{n}.{rss,atom,json}.
        #[arg(long)]
        out: PathBuf,
        /// Skip the archive pages (the subscription documents only).
        #[arg(long)]
        no_archives: bool,
    },
    /// Validate the config and every content file; exit 1 with file:line errors.
    Check {
        #[arg(long, default_value = "feeds/newswire.toml")]
        config: PathBuf,
    },
    /// Load articles (.md, .html), ticker lists (YYYY-MM-DD.txt) or JSON lines of the
    /// API's shape (.jsonl) into the store.
    Import {
        #[command(flatten)]
        site: SiteArgs,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Fetch the external sources ([[sources]]): all of them (or SOURCE) once
    /// with --once or a SOURCE, printing a summary; else keep polling them
    /// as `serve` does, without serving.
    Fetch {
        #[command(flatten)]
        site: SiteArgs,
        /// Fetch each source once, due or not, then exit (1 if any failed).
        #[arg(long)]
        once: bool,
        /// Only this source (implies --once).
        source: Option<String>,
    },
    /// Show what a [[scrapes]] entry's selectors extract from a page (a URL, or
    /// a saved FILE), without storing anything: items, their dates with
    /// offsets, article bodies cut short, and selectors that match nothing.
    Scrape {
        /// Only show; nothing is stored (the one mode: `newswire fetch NAME`
        /// scrapes into the store).
        #[arg(long)]
        dry_run: bool,
        #[arg(long, default_value = "feeds/newswire.toml")]
        config: PathBuf,
        /// Which [[scrapes]] entry (needed when there are several).
        #[arg(long)]
        name: Option<String>,
        /// A list or article page: http(s) URL or file.
        input: String,
    },
    /// Copy a whole site from one database to another, idempotently: its
    /// history, managed catalog entries and sources' fetch states.
    Migrate {
        /// Source: sqlite:PATH or postgres://…
        #[arg(long)]
        from: String,
        /// Target: sqlite:PATH or postgres://…
        #[arg(long)]
        to: String,
    },
}

#[derive(Args)]
struct SiteArgs {
    /// The site's config file; content folders are next to it.
    #[arg(long, default_value = "feeds/newswire.toml")]
    config: PathBuf,
    /// Folder of the SQLite database (default: [store] data_dir, else ./data).
    #[arg(long)]
    data: Option<PathBuf>,
    /// postgres://… to share one database between instances (default: SQLite).
    #[arg(long, env = "NEWSWIRE_DATABASE_URL")]
    database_url: Option<String>,
}

impl SiteArgs {
    async fn open(&self) -> Result<(Config, Arc<dyn Store>)> {
        let config = newswire::site::load_config(&self.config)?;
        let url = self
            .database_url
            .clone()
            .or_else(|| config.store.url.clone());
        let dir = self.data.clone().unwrap_or_else(|| config.data_dir());
        let store = store::open(url.as_deref(), &dir)
            .await
            .context("opening the store")?;
        Ok((config, store))
    }
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal: a file or journald would keep the
        // escape codes as text.
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        )
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let code = match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("newswire: {e:#}");
            std::process::ExitCode::from(2)
        }
    };
    // What is still running is background work past its point: a poll busy
    // on a document, a delivery. Dropping the runtime would wait for its
    // blocking threads, whatever they are doing; the drain is over.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    code
}

async fn run(cli: Cli) -> Result<std::process::ExitCode> {
    match cli.command {
        Command::Serve { site, listen } => serve(site, listen).await,
        Command::Build {
            site,
            out,
            no_archives,
        } => build(site, &out, !no_archives).await,
        Command::Check { config } => check(&config),
        Command::Import { site, files } => newswire_import(site, &files).await,
        Command::Migrate { from, to } => migrate(&from, &to).await,
        Command::Fetch { site, once, source } => fetch(site, once, source).await,
        Command::Scrape {
            dry_run,
            config,
            name,
            input,
        } => {
            if !dry_run {
                bail!(
                    "scrape only shows what selectors extract (--dry-run); `newswire fetch NAME` \
                     scrapes into the store"
                );
            }
            dry_scrape(&config, name.as_deref(), &input).await
        }
    }
}

async fn serve(args: SiteArgs, listen: Option<SocketAddr>) -> Result<std::process::ExitCode> {
    newswire::http::auth::env_token()?;
    raise_open_file_limit();
    let (config, store) = args.open().await?;
    let addr = listen.unwrap_or(config.server.listen);
    let site = Site::open(config, store)
        .await
        .context("reading the catalog")?;
    site.sync_files().await.context("syncing content files")?;
    site.render_everything().await.context("rendering feeds")?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    let local = listener.local_addr()?;
    site.start_tasks();
    // The one line a script or test waits for; the port is real even with --listen :0.
    println!("newswire: listening on http://{local}");
    if let Some(note) = feeds_url_mismatch(&site.config().site.feeds_url, local) {
        println!("newswire: note: {note}");
        tracing::warn!("{note}");
    }
    tracing::info!(
        "serving {} documents on http://{local}",
        site.cache.paths().len()
    );
    newswire::http::serve(site.clone(), listener, shutdown_signal())
        .await
        .context("starting the HTTP workers")?;
    site.settle(std::time::Duration::from_secs(5)).await;
    Ok(std::process::ExitCode::SUCCESS)
}

/// When `feeds_url` names this machine by address (as the demo's does) but not the
/// address this server listens on, the feeds' self links, the OPML and the pages
/// point elsewhere: say so. A public name in `feeds_url` (behind a proxy) is left
/// alone.
fn feeds_url_mismatch(feeds_url: &str, local: SocketAddr) -> Option<String> {
    let url = url::Url::parse(feeds_url).ok()?;
    let host = url
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let ip: std::net::IpAddr = match host {
        "localhost" => std::net::Ipv4Addr::LOCALHOST.into(),
        h => h.parse().ok()?,
    };
    let port = url.port_or_known_default()?;
    let same_ip = ip == local.ip() || (local.ip().is_unspecified() && ip.is_loopback());
    (!(same_ip && port == local.port())).then(|| {
        format!(
            "site.feeds_url is {feeds_url} but this server listens on http://{local}: feed self \
             links, the OPML and the pages point at feeds_url"
        )
    })
}

/// A server holds a descriptor per connection and per large document; the usual
/// soft limit of 1024 is far below the hard one, so take the hard one, as nginx's
/// `worker_rlimit_nofile` and Go's runtime do.
fn raise_open_file_limit() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        if let (Some(soft), Some(hard)) = (limit.current, limit.maximum)
            && soft < hard
        {
            let raised = rustix::process::Rlimit {
                current: Some(hard),
                maximum: Some(hard),
            };
            if let Err(e) = setrlimit(Resource::Nofile, raised) {
                tracing::warn!("cannot raise the open-file limit: {e}");
            }
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Archive pages `build` renders at once, at most.
const BUILD_PAGES: usize = 4;

async fn build(args: SiteArgs, out: &Path, archives: bool) -> Result<std::process::ExitCode> {
    let (config, store) = args.open().await?;
    let site = Site::open(config, store).await?;
    let problems = site.sync_files().await?;
    site.render_everything().await?;
    let mut written = 0;
    let mut write = |path: &str, body: &[u8]| -> Result<()> {
        let file = if path == "/" {
            out.join("index.html")
        } else {
            out.join(path.trim_start_matches('/'))
        };
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&file, body).with_context(|| format!("writing {}", file.display()))?;
        written += 1;
        Ok(())
    };
    for path in site.cache.paths() {
        let entry = site.cache.get(&path).expect("listed");
        write(&path, &entry.identity.body)?;
    }
    // Every closed archive page (RFC 5005), which `serve` renders on demand,
    // so that the links of a static copy lead somewhere.
    let feeds = match archives {
        true => newswire::catalog::feeds(&site.config()),
        false => Vec::new(),
    };
    // Pages are read and rendered a few at a time, as many as there are
    // cores (at most BUILD_PAGES: each holds its items and three renderings,
    // a few MiB for a 500-item page), and written in order.
    let parallel = newswire::cores::cores().min(BUILD_PAGES);
    for feed in feeds {
        let site = &site;
        let feed = &feed;
        let mut pages = futures_util::stream::iter(1..)
            .map(|n| site.archive_documents(feed, n))
            .buffered(parallel);
        while let Some(made) = pages.next().await {
            let Some(made) = made? else {
                break;
            };
            for (_, document) in made.documents {
                write(&document.path, &document.body)?;
            }
        }
    }
    println!(
        "newswire: wrote {written} documents to {}{}",
        out.display(),
        if problems.is_empty() {
            String::new()
        } else {
            format!(" ({} content problems, see above)", problems.len())
        }
    );
    Ok(std::process::ExitCode::SUCCESS)
}

fn check(config_path: &Path) -> Result<std::process::ExitCode> {
    let config = match newswire::site::load_config(config_path) {
        Ok(c) => c,
        Err(e) => {
            println!("{e}");
            return Ok(std::process::ExitCode::FAILURE);
        }
    };
    let loaded = files::load(&config);
    for d in &loaded.diagnostics {
        println!("{d}");
    }
    let articles = loaded
        .items
        .iter()
        .filter(|i| i.kind == newswire::model::ItemKind::Article)
        .count();
    let ticker = loaded.items.len() - articles;
    if loaded.diagnostics.is_empty() {
        println!(
            "ok: {} categories, {articles} articles, {ticker} ticker items",
            config.categories.len()
        );
        Ok(std::process::ExitCode::SUCCESS)
    } else {
        println!("{} problems", loaded.diagnostics.len());
        Ok(std::process::ExitCode::FAILURE)
    }
}

async fn newswire_import(args: SiteArgs, paths: &[PathBuf]) -> Result<std::process::ExitCode> {
    let (config, store) = args.open().await?;
    let site = Site::new(config, store);
    // Nothing renders here: a running server sees the new versions and redoes
    // the feeds itself.
    let ingest = newswire::ingest::Ingest {
        config: site.config(),
        store: site.store.clone(),
        changed: std::sync::Arc::new(|_| {}),
    };
    let report = newswire::import::run(&ingest, paths).await;
    let mut rejected = 0;
    for file in &report {
        println!(
            "{}: {} added, {} updated, {} unchanged, {} rejected",
            file.path.display(),
            file.added,
            file.updated,
            file.unchanged,
            file.rejected.len()
        );
        for r in &file.rejected {
            println!("  {r}");
        }
        rejected += file.rejected.len();
    }
    Ok(if rejected == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}

async fn fetch(args: SiteArgs, once: bool, only: Option<String>) -> Result<std::process::ExitCode> {
    let (config, store) = args.open().await?;
    let site = Site::open(config, store).await?;
    let config = site.config();
    if let Some(name) = &only
        && config.source(name).is_none()
    {
        bail!(
            "unknown source {name:?} (configured: {})",
            config
                .sources
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if config.sources.is_empty() {
        bail!("{} configures no [[sources]]", config.file.display());
    }
    let poller = site.poller()?;
    if !once && only.is_none() {
        // A fetch worker: the poller alone, until stopped. The instances that
        // serve see its writes through the store.
        tokio::select! {
            r = poller.run() => r.map_err(anyhow::Error::msg)?,
            _ = shutdown_signal() => {}
        }
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let names: Vec<String> = match only {
        Some(name) => vec![name],
        None => site
            .config()
            .sources
            .iter()
            .map(|s| s.name.clone())
            .collect(),
    };
    // Registering the configured sources is the start, not the round: the
    // round is timed from its first claim to its last save.
    poller.register().await.context("registering the sources")?;
    let progress = newswire::import::bar(names.len() as u64, "fetching");
    let started = std::time::Instant::now();
    let mut rows = poller
        .fetch_many(&names, |name| {
            progress.inc(1);
            progress.set_message(name.to_owned());
        })
        .await;
    progress.finish_and_clear();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let (table, failed) = newswire::poller::table(&rows);
    print!("{table}");
    println!(
        "{} sources, {} failed, in {:.3} s",
        rows.len(),
        failed,
        started.elapsed().as_secs_f64()
    );
    Ok(if failed == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}

/// `newswire scrape --dry-run`: what the selectors extract (see
/// [`scrape::report`]). Exit 1 when a selector the scrape needs matches
/// nothing.
async fn dry_scrape(
    config_path: &Path,
    name: Option<&str>,
    input: &str,
) -> Result<std::process::ExitCode> {
    let config = newswire::site::load_config(config_path)?;
    let (report, complete) = scrape::report::dry_run(&config, name, input).await?;
    print!("{report}");
    Ok(if complete {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}

async fn migrate(from: &str, to: &str) -> Result<std::process::ExitCode> {
    if from == to {
        bail!("--from and --to are the same database");
    }
    let source = store::open(Some(from), Path::new("data"))
        .await
        .with_context(|| format!("opening {}", store::redact(from)))?;
    let target = store::open(Some(to), Path::new("data"))
        .await
        .with_context(|| format!("opening {}", store::redact(to)))?;
    let counts = newswire::import::migrate(source.as_ref(), target.as_ref()).await?;
    println!(
        "newswire: migrated {} items ({} new, {} updated, {} unchanged) and {} tombstones; \
         {} managed catalog entries ({} new); the fetch state of {} sources; \
         {} kept archive documents; {} WebSub subscriptions",
        counts.items,
        counts.created,
        counts.updated,
        counts.unchanged,
        counts.tombstones,
        counts.entries,
        counts.entries_new,
        counts.sources,
        counts.documents,
        counts.subscriptions
    );
    Ok(std::process::ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::feeds_url_mismatch;

    #[test]
    fn a_feeds_url_that_is_not_this_server_is_pointed_out() {
        let at = |a: &str| a.parse().unwrap();
        assert_eq!(
            feeds_url_mismatch("http://127.0.0.1:8080", at("127.0.0.1:8080")),
            None
        );
        assert_eq!(
            feeds_url_mismatch("http://localhost:8080/", at("0.0.0.0:8080")),
            None
        );
        assert!(feeds_url_mismatch("http://127.0.0.1:8080", at("127.0.0.1:40123")).is_some());
        assert!(feeds_url_mismatch("http://[::1]:8080", at("127.0.0.1:8080")).is_some());
        // A public name is a proxy's business.
        assert_eq!(
            feeds_url_mismatch("https://feeds.example.com", at("127.0.0.1:8080")),
            None
        );
    }
}
