//! A real PostgreSQL server for the inbox tests: the one `.ci/run` starts
//! (`PANDAPON_TEST_POSTGRES_URL`), a fresh database on it for each test,
//! and a TCP switch in front of it that can cut the database off and bring
//! it back, as an outage does.
//!
//! Without `PANDAPON_TEST_POSTGRES_URL` the tests that need it print one
//! line saying how to run them and pass; under CI (`CI` set) its absence is
//! a failure, so that they cannot be skipped there by accident.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The variable naming the server.
pub const ENV: &str = "PANDAPON_TEST_POSTGRES_URL";

/// The server's URL, or `None` (with the one line that says how to run
/// the test) when none is configured.
///
/// # Panics
///
/// Under CI (`CI` set) when no server is configured.
pub fn server(test: &str) -> Option<String> {
    match std::env::var(ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{test}: {ENV} is not set under CI; .ci/run starts a PostgreSQL server and sets it"
            );
            eprintln!(
                "skipped {test}: set {ENV} to a PostgreSQL server's URL (as .ci/run does, \
                 postgres://postgres@127.0.0.1:PORT/postgres) to run the PostgreSQL inbox tests"
            );
            None
        }
    }
}

/// A new, empty database on the server for one test; returns its URL.
///
/// # Panics
///
/// When the server cannot be reached or the database not made.
pub async fn fresh_database(server: &str, test: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "pandapon_{}_{}_{}",
        test.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect::<String>()
            .to_lowercase(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let (client, connection) = tokio_postgres::connect(server, tokio_postgres::NoTls)
        .await
        .expect("the test PostgreSQL server answers");
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("a database for the test");
    with_database(server, &name)
}

/// `server`'s URL with its database set to `name`.
pub fn with_database(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (server, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}

/// `url` with its host and port replaced by `addr`.
pub fn through(url: &str, addr: std::net::SocketAddr) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let user = authority
        .rsplit_once('@')
        .map(|(user, _)| format!("{user}@"));
    format!(
        "{}{}{addr}{}",
        &url[..scheme_end],
        user.unwrap_or_default(),
        &rest[authority_end..]
    )
}

/// A TCP forwarder in front of the database: while on, it forwards every
/// connection; [`off`](Self::off) cuts the connections it carries and
/// refuses new ones (an outage), [`on`](Self::on) forwards again.
pub struct Switch {
    /// Where clients connect.
    pub addr: std::net::SocketAddr,
    on: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
    _task: tokio::task::JoinHandle<()>,
}

impl Switch {
    /// Forwards to `target` (`host:port`).
    ///
    /// # Panics
    ///
    /// When no local port can be bound.
    pub async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let on = Arc::new(AtomicBool::new(true));
        let (cut, _) = watch::channel(0_u64);
        let (flag, cuts) = (Arc::clone(&on), cut.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !flag.load(Ordering::Acquire) {
                    // Refused: closed at once.
                    continue;
                }
                let mut cut = cuts.subscribe();
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Self {
            addr,
            on,
            cut,
            _task: task,
        }
    }

    /// The database is unreachable: connections cut, new ones refused.
    pub fn off(&self) {
        self.on.store(false, Ordering::Release);
        self.cut.send_modify(|n| *n += 1);
    }

    /// The database is reachable again.
    pub fn on(&self) {
        self.on.store(true, Ordering::Release);
    }
}

/// The `host:port` of a PostgreSQL URL.
pub fn host_port(url: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[scheme_end..];
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_rewritten_piece_by_piece() {
        let server = "postgres://postgres@127.0.0.1:5433/postgres?connect_timeout=5";
        assert_eq!(
            with_database(server, "t1"),
            "postgres://postgres@127.0.0.1:5433/t1?connect_timeout=5"
        );
        assert_eq!(host_port(server), "127.0.0.1:5433");
        let addr: std::net::SocketAddr = "127.0.0.1:6000".parse().expect("addr");
        assert_eq!(
            through(server, addr),
            "postgres://postgres@127.0.0.1:6000/postgres?connect_timeout=5"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
