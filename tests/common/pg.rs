//! PostgreSQL for the integration tests: a fresh database per test, dropped after it,
//! and a TCP proxy that can cut the connection to simulate an outage.
//!
//! The tests need a server: `NEWSWIRE_TEST_DATABASE_URL=postgres://user@host/db` (any
//! database the user can connect to and create databases from). Unset, PostgreSQL
//! tests print that they skipped and pass; set but unreachable, they fail, so a
//! broken CI database never passes silently.

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub const ENV: &str = "NEWSWIRE_TEST_DATABASE_URL";

/// The administrative URL from the environment, if PostgreSQL tests should run.
pub fn admin_url() -> Option<String> {
    std::env::var(ENV).ok().filter(|u| !u.trim().is_empty())
}

/// A new, empty database and its URL; `None` (after saying so) when [`ENV`] is unset.
/// Panics when it is set but the server cannot be reached or refuses.
pub fn fresh_database() -> Option<(String, Guard)> {
    fresh_database_with("")
}

/// [`fresh_database`] with options for `CREATE DATABASE` (e.g. another locale).
pub fn fresh_database_with(options: &str) -> Option<(String, Guard)> {
    let Some(admin) = admin_url() else {
        // The test harness names each test's thread after the test.
        let current = std::thread::current();
        let test = current.name().unwrap_or("a test");
        eprintln!("{test}: skipped PostgreSQL ({ENV} is not set)");
        return None;
    };
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_nanos();
    let name = format!(
        "newswire_t_{}_{nanos}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    if let Err(e) = admin_sql(&admin, format!("CREATE DATABASE \"{name}\" {options}")) {
        panic!("{ENV}={admin} is set but creating a test database failed: {e}");
    }
    let url = with_database(&admin, &name);
    Some((url, Guard { admin, name }))
}

/// `admin` with its database replaced by `name`.
fn with_database(admin: &str, name: &str) -> String {
    let mut url =
        reqwest::Url::parse(admin).unwrap_or_else(|e| panic!("{ENV}={admin} is not a URL: {e}"));
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// `url` pointing at `addr` instead of its own host and port.
pub fn via(url: &str, addr: SocketAddr) -> String {
    let mut u = reqwest::Url::parse(url).expect("a database URL");
    u.set_ip_host(addr.ip()).expect("a URL with a host");
    u.set_port(Some(addr.port())).expect("a URL with a host");
    u.to_string()
}

/// The server's address, from a database URL.
pub fn server_addr(url: &str) -> SocketAddr {
    let u = reqwest::Url::parse(url).expect("a database URL");
    let host = u.host_str().unwrap_or("localhost").to_owned();
    (host.as_str(), u.port().unwrap_or(5432))
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .unwrap_or_else(|| panic!("cannot resolve the host of {url}"))
}

/// Runs one statement as the admin user on a thread of its own, so it works from
/// synchronous code, from `Drop`, and from inside a tokio test alike.
fn admin_sql(admin: &str, sql: String) -> Result<(), String> {
    let admin = admin.to_owned();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            let mut conn = tokio::time::timeout(Duration::from_secs(10), async {
                PgConnection::connect(&admin).await
            })
            .await
            .map_err(|_| "no answer within 10 s".to_owned())?
            .map_err(|e| e.to_string())?;
            sqlx::query(AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            conn.close().await.map_err(|e| e.to_string())
        })
    })
    .join()
    .map_err(|_| "the admin thread panicked".to_owned())?
}

/// Drops the test database (terminating its sessions) when the test ends.
pub struct Guard {
    admin: String,
    name: String,
}

impl Guard {
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        if let Err(e) = admin_sql(&self.admin, sql) {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// A TCP proxy in front of the database. [`Proxy::cut`] closes every connection and
/// stops listening (clients get "connection refused", as from a stopped server);
/// [`Proxy::restore`] listens again on the same port. It runs on a thread of its own,
/// so it keeps working whatever the test's runtime does.
pub struct Proxy {
    pub addr: SocketAddr,
    commands: tokio::sync::mpsc::UnboundedSender<(Command, std::sync::mpsc::Sender<()>)>,
}

enum Command {
    Cut,
    Restore,
}

impl Proxy {
    pub fn start(target: SocketAddr) -> Proxy {
        let (tx, mut rx) =
            tokio::sync::mpsc::unbounded_channel::<(Command, std::sync::mpsc::Sender<()>)>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the proxy");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind the proxy");
                let addr = listener.local_addr().expect("the proxy's address");
                let _ = addr_tx.send(addr);
                let mut serving = Some(serve(listener, target));
                while let Some((command, done)) = rx.recv().await {
                    match command {
                        Command::Cut => {
                            if let Some((accept, cut)) = serving.take() {
                                accept.abort();
                                let _ = accept.await;
                                drop(cut);
                                // Let the connection tasks see the cut and close.
                                tokio::time::sleep(Duration::from_millis(50)).await;
                            }
                        }
                        Command::Restore => {
                            if serving.is_none() {
                                let listener = tokio::net::TcpListener::bind(addr)
                                    .await
                                    .expect("re-bind the proxy's port");
                                serving = Some(serve(listener, target));
                            }
                        }
                    }
                    let _ = done.send(());
                }
            });
        });
        let addr = addr_rx.recv().expect("the proxy started");
        Proxy { addr, commands: tx }
    }

    fn command(&self, command: Command) {
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        self.commands
            .send((command, done_tx))
            .expect("the proxy is running");
        done_rx.recv().expect("the proxy answers");
    }

    /// Closes every proxied connection and refuses new ones.
    pub fn cut(&self) {
        self.command(Command::Cut);
    }

    /// Accepts connections again on the same address.
    pub fn restore(&self) {
        self.command(Command::Restore);
    }
}

/// Accepts and relays until aborted; dropping the returned sender ends every
/// relayed connection.
fn serve(
    listener: tokio::net::TcpListener,
    target: SocketAddr,
) -> (
    tokio::task::JoinHandle<()>,
    tokio::sync::broadcast::Sender<()>,
) {
    let (cut_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let cuts = cut_tx.clone();
    let accept = tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                continue;
            };
            let mut cut = cuts.subscribe();
            tokio::spawn(async move {
                let Ok(mut server) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {},
                    _ = cut.recv() => {},
                }
            });
        }
    });
    (accept, cut_tx)
}
