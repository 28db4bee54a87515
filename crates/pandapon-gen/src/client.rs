//! Building a [`Client`]: credentials, environment variables, timeouts and
//! limits, turned into the [`ClientState`] every call's step reads.

use std::sync::Arc;
use std::time::Duration;

use pandapon_auth::{Credentials, HeaderRuleQuery, QuerySigner, Signer, TimestampUnit};

use crate::step::ClientState;
use crate::step::body::{BodyLimits, StallPolicy};
use crate::step::intercept::Interceptor;
use crate::step::retry::{RetryBudget, RetryPolicy, TokenBucket};
use crate::{Client, ConfigError};

/// PandaPon's production server.
pub const DEFAULT_BASE_URL: &str = "https://api.pandapon.com";
/// Default time allowed to establish a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time allowed for each attempt of a call, from connecting to the last
/// body byte (see the guide's [reliability chapter](crate::guide::reliability)).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The `user-agent` every request carries.
pub const USER_AGENT: &str = concat!("pandapon-rust/", env!("CARGO_PKG_VERSION"));

/// Environment variable holding the access key.
pub const ENV_ACCESS_KEY: &str = "PANDAPON_ACCESS_KEY";
/// Environment variable holding the access secret.
pub const ENV_ACCESS_SECRET: &str = "PANDAPON_ACCESS_SECRET";
/// Environment variable holding the user id.
pub const ENV_USER_ID: &str = "PANDAPON_USER_ID";
/// Environment variable overriding the base URL (optional).
pub const ENV_BASE_URL: &str = "PANDAPON_BASE_URL";
/// Environment variable choosing the timestamp unit, `ms` or `s` (optional).
pub const ENV_TIMESTAMP_UNIT: &str = "PANDAPON_TIMESTAMP_UNIT";
/// Environment variable with a clock offset in milliseconds (optional).
pub const ENV_CLOCK_OFFSET_MS: &str = "PANDAPON_CLOCK_OFFSET_MS";
/// Environment variable with the most bytes read from one response
/// (optional; default
/// [`DEFAULT_MAX_RESPONSE_BYTES`](crate::DEFAULT_MAX_RESPONSE_BYTES)).
pub const ENV_MAX_RESPONSE_BYTES: &str = "PANDAPON_MAX_RESPONSE_BYTES";

/// An environment variable the client configuration reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnvVar {
    /// The variable's name.
    pub name: &'static str,
    /// Whether [`ClientBuilder::from_env`] fails without it.
    pub required: bool,
    /// What it sets.
    pub meaning: &'static str,
}

/// Every environment variable [`ClientBuilder::from_env`] reads, and
/// nothing else: the one list the CLI's options, the tests' scrubbing and
/// the documentation follow.
pub const ENV_VARS: &[EnvVar] = &[
    EnvVar {
        name: ENV_ACCESS_KEY,
        required: true,
        meaning: "AccessKey from the PandaPon console",
    },
    EnvVar {
        name: ENV_ACCESS_SECRET,
        required: true,
        meaning: "Access Secret from the console",
    },
    EnvVar {
        name: ENV_USER_ID,
        required: true,
        meaning: "the (sub-)account user id the calls act for",
    },
    EnvVar {
        name: ENV_BASE_URL,
        required: false,
        meaning: "the server to call (default `https://api.pandapon.com`)",
    },
    EnvVar {
        name: ENV_TIMESTAMP_UNIT,
        required: false,
        meaning: "unit of the `timestamp` header: `ms` (default) or `s`",
    },
    EnvVar {
        name: ENV_CLOCK_OFFSET_MS,
        required: false,
        meaning: "milliseconds added to the local clock when signing (positive if it is behind)",
    },
    EnvVar {
        name: ENV_MAX_RESPONSE_BYTES,
        required: false,
        meaning: "most bytes read from one response (default 16 MiB)",
    },
];

impl Client {
    /// Starts building a client for `credentials`.
    pub fn builder(credentials: Credentials) -> ClientBuilder {
        ClientBuilder::new(credentials)
    }

    /// A client configured from the `PANDAPON_*` environment variables
    /// (see [`ClientBuilder::from_env`]).
    ///
    /// # Errors
    ///
    /// Those of [`ClientBuilder::from_env`], then those of
    /// [`ClientBuilder::build`].
    pub fn from_env() -> Result<Self, ConfigError> {
        ClientBuilder::from_env()?.build()
    }

    /// The signer this client uses.
    pub fn signer(&self) -> &Signer {
        &self.inner.signer
    }

    /// The credentials this client signs with: what a receiver of
    /// PandaPon's pushes verifies them with
    /// (`push::receiver::Receiver::for_client`). Their secret never prints.
    pub fn credentials(&self) -> &Credentials {
        self.inner.signer.credentials()
    }

    /// A client acting for another (sub-)account: the same credentials,
    /// settings, interceptors and retry budget, the same connection pool
    /// (no new connections, no new TLS handshakes), another `user-id`.
    /// Cheap enough to call per request.
    ///
    /// ```
    /// # use pandapon_gen::{Client, Credentials};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let credentials = Credentials::new("demo-access-key", "demo-access-secret", "agent")?;
    /// let agent = Client::builder(credentials).build()?;
    /// let shop_a = agent.with_user_id("2100007341207")?;
    /// let shop_b = agent.with_user_id("2100007341208")?;
    /// assert_eq!(shop_b.signer().credentials().user_id(), "2100007341208");
    /// # let _ = shop_a; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::Credentials`] when `user_id` is empty or cannot be
    /// sent in a header.
    pub fn with_user_id(&self, user_id: impl AsRef<str>) -> Result<Client, ConfigError> {
        let inner = ClientState {
            signer: self.inner.signer.with_user_id(user_id)?,
            ..self.inner.clone()
        };
        Ok(Client::new_with_client(
            &self.baseurl,
            self.client.clone(),
            inner,
        ))
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.baseurl
    }
}

/// Settings for a [`Client`].
pub struct ClientBuilder {
    credentials: Credentials,
    base_url: String,
    unit: TimestampUnit,
    connect_timeout: Duration,
    timeout: Duration,
    query_signer: Arc<dyn QuerySigner>,
    dry_run: Option<crate::step::DryRun>,
    policy: RetryPolicy,
    limits: BodyLimits,
    clock_offset_ms: i64,
    http: Option<reqwest::ClientBuilder>,
    budget: RetryBudget,
    interceptors: Vec<Arc<dyn Interceptor>>,
    application: Option<String>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("credentials", &self.credentials)
            .field("base_url", &self.base_url)
            .field("unit", &self.unit)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("query_signer", &self.query_signer)
            .field("dry_run", &self.dry_run.is_some())
            .field("policy", &self.policy)
            .field("limits", &self.limits)
            .field("clock_offset_ms", &self.clock_offset_ms)
            .field("http_client", &self.http.is_some())
            .field("retry_budget", &self.budget)
            .field("interceptors", &self.interceptors.len())
            .field("application", &self.application)
            .finish()
    }
}

impl ClientBuilder {
    /// Defaults: [`DEFAULT_BASE_URL`], millisecond timestamps,
    /// [`DEFAULT_CONNECT_TIMEOUT`], [`DEFAULT_TIMEOUT`] per attempt,
    /// [`DEFAULT_MAX_RESPONSE_BYTES`](crate::DEFAULT_MAX_RESPONSE_BYTES),
    /// [`StallPolicy::default`], [`RetryPolicy::default`] and
    /// [`RetryBudget::default`]. The guide's
    /// [reliability chapter](crate::guide::reliability) says what each does.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            base_url: DEFAULT_BASE_URL.to_owned(),
            unit: TimestampUnit::Millis,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            query_signer: Arc::new(HeaderRuleQuery),
            dry_run: None,
            policy: RetryPolicy::default(),
            limits: BodyLimits::default(),
            clock_offset_ms: 0,
            http: None,
            budget: RetryBudget::default(),
            interceptors: Vec::new(),
            application: None,
        }
    }

    /// Reads the variables of [`ENV_VARS`]: `PANDAPON_ACCESS_KEY`,
    /// `PANDAPON_ACCESS_SECRET`, `PANDAPON_USER_ID` (required), and optionally
    /// `PANDAPON_BASE_URL`, `PANDAPON_TIMESTAMP_UNIT` (`ms` or `s`),
    /// `PANDAPON_CLOCK_OFFSET_MS` and `PANDAPON_MAX_RESPONSE_BYTES`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::MissingVar`] when a required variable is unset or
    /// empty; [`ConfigError::Credentials`] when the key, secret or user id
    /// is unusable (see [`Credentials::new`]); [`ConfigError::InvalidVar`]
    /// for a timestamp unit other than `ms` or `s`, a clock offset that is
    /// not a whole number, or a response limit that is not a positive whole
    /// number. The base URL is checked by [`build`](Self::build).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()))
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`.
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| lookup(name).filter(|v| !v.is_empty());
        let required = |name: &'static str| get(name).ok_or(ConfigError::MissingVar(name));
        let credentials = Credentials::new(
            required(ENV_ACCESS_KEY)?,
            required(ENV_ACCESS_SECRET)?,
            required(ENV_USER_ID)?,
        )?;
        let mut builder = Self::new(credentials);
        if let Some(url) = get(ENV_BASE_URL) {
            builder = builder.base_url(url);
        }
        if let Some(unit) = get(ENV_TIMESTAMP_UNIT) {
            let unit =
                unit.parse()
                    .map_err(|e: pandapon_auth::UnknownUnit| ConfigError::InvalidVar {
                        name: ENV_TIMESTAMP_UNIT,
                        reason: e.to_string(),
                    })?;
            builder = builder.timestamp_unit(unit);
        }
        if let Some(offset) = get(ENV_CLOCK_OFFSET_MS) {
            let offset = offset.trim().parse().map_err(|_| ConfigError::InvalidVar {
                name: ENV_CLOCK_OFFSET_MS,
                reason: "expected a whole number of milliseconds, such as -1500".into(),
            })?;
            builder = builder.clock_offset_millis(offset);
        }
        if let Some(max) = get(ENV_MAX_RESPONSE_BYTES) {
            let max =
                max.trim()
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(ConfigError::InvalidVar {
                        name: ENV_MAX_RESPONSE_BYTES,
                        reason: "expected a positive whole number of bytes, such as 33554432"
                            .into(),
                    })?;
            builder = builder.max_response_bytes(max);
        }
        Ok(builder)
    }

    /// The credentials the client will sign with.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Sends requests to `url` instead of production (a mock, a proxy).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Chooses the unit of the `timestamp` header.
    pub fn timestamp_unit(mut self, unit: TimestampUnit) -> Self {
        self.unit = unit;
        self
    }

    /// Replaces the retry policy (see [`RetryPolicy`]; [`RetryPolicy::none`]
    /// turns automatic retries off).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Adds `offset_ms` to the local clock when signing, for hosts whose
    /// clock is off by more than PandaPon's 600-second window. Positive if
    /// the local clock is behind.
    pub fn clock_offset_millis(mut self, offset_ms: i64) -> Self {
        self.clock_offset_ms = offset_ms;
        self
    }

    /// Time allowed to establish a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for each attempt, from connecting to the last body byte
    /// (a retried call gets it afresh for every attempt).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The most bytes read from a success answer (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`](crate::DEFAULT_MAX_RESPONSE_BYTES));
    /// past it the call fails with [`Error::TooLarge`](crate::Error::TooLarge).
    /// The guide's [reliability chapter](crate::guide::reliability) has the
    /// size limit's rules.
    pub fn max_response_bytes(mut self, max: usize) -> Self {
        self.limits.max_bytes = max.max(1);
        self
    }

    /// The most memory a success answer may take once decoded, as a multiple
    /// of its size (default
    /// [`DEFAULT_DECODE_RATIO`](crate::DEFAULT_DECODE_RATIO), plus
    /// [`DECODE_ALLOWANCE`](crate::DECODE_ALLOWANCE) for any body). A body
    /// that would take more fails with
    /// [`Error::TooLargeDecoded`](crate::Error::TooLargeDecoded) before it
    /// is decoded. The guide's [reliability chapter](crate::guide::reliability)
    /// says why, and what ordinary answers take.
    pub fn max_decode_ratio(mut self, ratio: usize) -> Self {
        self.limits.decode_ratio = ratio.max(1);
        self
    }

    /// When a response body that stops arriving fails (default
    /// [`StallPolicy::default`]), with [`Error::Stalled`](crate::Error::Stalled),
    /// instead of at the end of the attempt's timeout.
    /// [`StallPolicy::disabled`] leaves only the timeout.
    pub fn stall_protection(mut self, policy: StallPolicy) -> Self {
        self.limits.stall = policy;
        self
    }

    /// Replaces the rule for the warehouse-logistics `timestamp` and `sign`
    /// query parameters. The default, [`HeaderRuleQuery`], is unverified:
    /// PandaPon does not document `sign`.
    pub fn query_signer(mut self, signer: impl QuerySigner + 'static) -> Self {
        self.query_signer = Arc::new(signer);
        self
    }

    /// Makes a client that sends nothing: each call is signed exactly as it
    /// would be, handed to `show`, and then fails with [`Error::DryRun`].
    ///
    /// [`Error::DryRun`]: crate::Error::DryRun
    pub fn dry_run(mut self, show: impl Fn(&reqwest::Request) + Send + Sync + 'static) -> Self {
        self.dry_run = Some(Arc::new(show));
        self
    }

    /// Sends through `http`, your own reqwest client settings: a proxy,
    /// root certificates, a local address, HTTP/2 settings, pool sizes and
    /// so on.
    ///
    /// The SDK still sets on it what every signed call needs, overriding
    /// yours: no redirects (a redirected request would be signed for
    /// another URL), no transparent retries (a replay would reuse the nonce
    /// and might apply a write twice), and the user agent
    /// ([`USER_AGENT`], with [`application`](Self::application)). Its connect
    /// timeout and per-attempt timeout
    /// ([`connect_timeout`](Self::connect_timeout), [`timeout`](Self::timeout))
    /// apply only where your builder sets none: a `connect_timeout` or a
    /// `timeout` you set on it is kept. Everything else is yours, including
    /// reqwest's reading of `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`
    /// (which a client without `http_client` honours too).
    ///
    /// ```
    /// # use pandapon_gen::{Client, Credentials};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let credentials = Credentials::new("demo-access-key", "demo-access-secret", "demo-user")?;
    /// let http = reqwest::Client::builder()
    ///     .proxy(reqwest::Proxy::all("http://proxy.internal:3128")?)
    ///     .pool_max_idle_per_host(32);
    /// let client = Client::builder(credentials).http_client(http).build()?;
    /// # let _ = client; Ok(()) }
    /// ```
    pub fn http_client(mut self, http: reqwest::ClientBuilder) -> Self {
        self.http = Some(http);
        self
    }

    /// Registers an interceptor: it sees every attempt of every call, before
    /// and after (see [`Interceptor`]). Interceptors run in the order they
    /// were registered. With none, a call costs what it did without them.
    pub fn interceptor(mut self, interceptor: impl Interceptor + 'static) -> Self {
        self.interceptors.push(Arc::new(interceptor));
        self
    }

    /// Sets the client's retry budget (see [`RetryBudget`]; on by default,
    /// [`RetryBudget::unlimited`] turns it off).
    pub fn retry_budget(mut self, budget: RetryBudget) -> Self {
        self.budget = budget;
        self
    }

    /// Names your application in the `user-agent` header, after the SDK's:
    /// `pandapon-rust/0.1.0 your-shop/2.3.1`. It helps PandaPon (and your
    /// proxies' logs) tell your traffic apart. The name and version must be
    /// header-safe ASCII without spaces or `/`, or [`build`](Self::build)
    /// fails.
    pub fn application(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.application = Some(format!("{}/{}", name.into(), version.into()));
        self
    }

    /// Builds the client (HTTPS through rustls).
    ///
    /// # Errors
    ///
    /// [`ConfigError::BaseUrl`] for a base URL that is not `http(s)://host…`
    /// or has a query or fragment; [`ConfigError::InvalidVar`] for an
    /// [`application`](Self::application) name that cannot be sent;
    /// [`ConfigError::Http`] when reqwest cannot build the HTTP client (a
    /// bad TLS setting of yours, for example).
    pub fn build(self) -> Result<Client, ConfigError> {
        let base_url = self.base_url.trim_end_matches('/').to_owned();
        let parsed = reqwest::Url::parse(&base_url).map_err(|e| ConfigError::BaseUrl {
            url: self.base_url.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(ConfigError::BaseUrl {
                url: self.base_url,
                reason: "needs an http or https scheme and a host".into(),
            });
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(ConfigError::BaseUrl {
                url: self.base_url,
                reason: "cannot have a query or a fragment: paths are joined to it".into(),
            });
        }
        let user_agent = match &self.application {
            None => USER_AGENT.to_owned(),
            Some(app) => {
                let valid = app.split('/').all(|part| {
                    !part.is_empty() && part.bytes().all(|b| b.is_ascii_graphic() && b != b'/')
                }) && app.matches('/').count() == 1;
                if !valid {
                    return Err(ConfigError::InvalidVar {
                        name: "application",
                        reason: format!(
                            "{:?} is not NAME/VERSION in header-safe ASCII without spaces",
                            crate::escape_controls(app)
                        ),
                    });
                }
                format!("{USER_AGENT} {app}")
            }
        };
        let (mut http, keep_connect, keep_total) = match self.http {
            Some(theirs) => {
                // reqwest has no getters: its builder's Debug lists a
                // timeout only when one is set (a test pins this).
                let settings = format!("{theirs:?}");
                let connect = settings.contains(" connect_timeout:");
                let total = settings.contains(" timeout:");
                (theirs, connect, total)
            }
            None => (reqwest::Client::builder(), false, false),
        };
        if !keep_connect {
            http = http.connect_timeout(self.connect_timeout);
        }
        if !keep_total {
            http = http.timeout(self.timeout);
        }
        let http = http
            // A signed call is never replayed behind the caller's back: no
            // transparent retries (a replay would reuse the nonce, and a write
            // might be applied twice) and no redirects.
            .retry(reqwest::retry::never())
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(user_agent)
            .build()
            .map_err(ConfigError::Http)?;
        let signer = Signer::new(self.credentials)
            .with_timestamp_unit(self.unit)
            .with_clock_offset_millis(self.clock_offset_ms);
        let inner = ClientState {
            base: parsed,
            signer,
            query_signer: self.query_signer,
            dry_run: self.dry_run,
            policy: self.policy,
            limits: self.limits,
            bucket: Arc::new(TokenBucket::new(self.budget)),
            interceptors: self.interceptors.into(),
        };
        Ok(Client::new_with_client(&base_url, http, inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const FULL: &[(&str, &str)] = &[
        (ENV_ACCESS_KEY, "ak"),
        (ENV_ACCESS_SECRET, "sk-secret"),
        (ENV_USER_ID, "2100007341207"),
    ];

    #[test]
    fn missing_variables_are_named() {
        for missing in [ENV_ACCESS_KEY, ENV_ACCESS_SECRET, ENV_USER_ID] {
            let vars: Vec<_> = FULL
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            let err = ClientBuilder::from_lookup(env(&vars)).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("environment variable {missing} is not set")
            );
        }
        let mut empty = FULL.to_vec();
        empty[2] = (ENV_USER_ID, "");
        assert!(matches!(
            ClientBuilder::from_lookup(env(&empty)),
            Err(ConfigError::MissingVar(ENV_USER_ID))
        ));
    }

    #[test]
    fn env_defaults_and_overrides() {
        let client = ClientBuilder::from_lookup(env(FULL))
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(client.base_url(), DEFAULT_BASE_URL);
        assert_eq!(client.signer().timestamp_unit(), TimestampUnit::Millis);

        let mut vars = FULL.to_vec();
        vars.push((ENV_BASE_URL, "http://127.0.0.1:9/"));
        vars.push((ENV_TIMESTAMP_UNIT, "s"));
        let client = ClientBuilder::from_lookup(env(&vars))
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:9");
        assert_eq!(client.signer().timestamp_unit(), TimestampUnit::Seconds);

        let mut bad_unit = FULL.to_vec();
        bad_unit.push((ENV_TIMESTAMP_UNIT, "hours"));
        let err = ClientBuilder::from_lookup(env(&bad_unit)).unwrap_err();
        assert!(err.to_string().contains(ENV_TIMESTAMP_UNIT), "{err}");
    }

    #[test]
    fn bad_base_urls_are_refused() {
        for url in [
            "not a url",
            "ftp://x",
            "file:///tmp",
            "http://h/?q=1",
            "http://h/#f",
        ] {
            let err = ClientBuilder::from_lookup(env(FULL))
                .unwrap()
                .base_url(url)
                .build()
                .unwrap_err();
            assert!(matches!(err, ConfigError::BaseUrl { .. }), "{url}: {err}");
        }
    }

    #[test]
    fn the_loader_reads_exactly_the_listed_variables() {
        let asked = std::sync::Mutex::new(Vec::new());
        let _ = ClientBuilder::from_lookup(|name| {
            asked.lock().unwrap().push(name.to_owned());
            // Valid values for all, so that every variable is read.
            let value = match name {
                ENV_TIMESTAMP_UNIT => "ms",
                ENV_CLOCK_OFFSET_MS => "0",
                ENV_MAX_RESPONSE_BYTES => "1024",
                ENV_BASE_URL => "http://127.0.0.1:9",
                _ => "x",
            };
            Some(value.to_owned())
        })
        .unwrap();
        let asked = asked.into_inner().unwrap();
        let listed: Vec<&str> = ENV_VARS.iter().map(|v| v.name).collect();
        assert_eq!(asked, listed);
        for var in ENV_VARS {
            let mut vars: Vec<(&str, &str)> = FULL.to_vec();
            if var.required {
                vars.retain(|(k, _)| *k != var.name);
                assert!(
                    ClientBuilder::from_lookup(env(&vars)).is_err(),
                    "{}",
                    var.name
                );
            }
        }
    }

    #[test]
    fn the_guide_lists_every_variable() {
        let guide = include_str!("../guide/setup.md");
        for var in ENV_VARS {
            let required = if var.required { "yes" } else { "no" };
            let row = format!("| `{}` | {required} |", var.name);
            assert!(guide.contains(&row), "guide/setup.md lacks the row {row}");
        }
        let rows = guide
            .lines()
            .filter(|l| l.starts_with("| `PANDAPON_"))
            .count();
        assert_eq!(rows, ENV_VARS.len(), "guide/setup.md lists other variables");
    }

    #[test]
    fn a_callers_timeouts_are_seen_in_their_builder() {
        // The SDK keeps a caller's timeouts by finding them in reqwest's
        // Debug output: if reqwest changes it, this fails.
        let debug = |b: reqwest::ClientBuilder| format!("{b:?}");
        let plain = debug(
            reqwest::Client::builder()
                .read_timeout(Duration::from_secs(3))
                .pool_idle_timeout(Duration::from_secs(3)),
        );
        assert!(
            !plain.contains(" timeout:") && !plain.contains(" connect_timeout:"),
            "{plain}"
        );
        let total = debug(reqwest::Client::builder().timeout(Duration::from_secs(3)));
        assert!(
            total.contains(" timeout:") && !total.contains(" connect_timeout:"),
            "{total}"
        );
        let connect = debug(reqwest::Client::builder().connect_timeout(Duration::from_secs(3)));
        assert!(
            connect.contains(" connect_timeout:") && !connect.contains(" timeout:"),
            "{connect}"
        );
    }

    #[test]
    fn an_application_is_named_name_slash_version() {
        for bad in [("my app", "1"), ("app", ""), ("a/b", "1"), ("app", "1\n")] {
            let built = ClientBuilder::from_lookup(env(FULL))
                .unwrap()
                .application(bad.0, bad.1)
                .build();
            assert!(
                matches!(
                    built,
                    Err(ConfigError::InvalidVar {
                        name: "application",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
        assert!(
            ClientBuilder::from_lookup(env(FULL))
                .unwrap()
                .application("shop", "2.3.1")
                .build()
                .is_ok()
        );
    }

    #[test]
    fn nothing_prints_the_secret() {
        let builder = ClientBuilder::from_lookup(env(FULL)).unwrap();
        let client = ClientBuilder::from_lookup(env(FULL))
            .unwrap()
            .build()
            .unwrap();
        for text in [
            format!("{builder:?}"),
            format!("{client:?}"),
            format!("{client:#?}"),
        ] {
            assert!(!text.contains("sk-secret"), "{text}");
            assert!(text.contains("***"), "{text}");
        }
    }
}
