//! [`ClientBuilder`]: every setting of a [`Client`], checked in one place.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::{Client, ENV_API_KEY, ENV_API_URL, ENV_BASE_URL, Platform};
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use crate::throttle::{Throttle, ThrottleConfig, ThrottleStore};
use crate::transport::{self, Settings, Transport};

/// Builds a [`Client`]. Every setting is checked in [`build`](ClientBuilder::build).
///
/// ```
/// use std::time::Duration;
///
/// let client = rescale::Client::builder()
///     .token("my-api-key")
///     .platform(rescale::Platform::Eu)
///     .attempt_timeout(Duration::from_secs(60))
///     .operation_timeout(Duration::from_secs(300))
///     .build()?;
/// assert_eq!(client.base_url().as_str(), "https://eu.rescale.com/api/v2/");
/// # Ok::<(), rescale::Error>(())
/// ```
#[derive(Default)]
#[must_use]
pub struct ClientBuilder {
    token: Option<SecretString>,
    base_url: Option<String>,
    platform: Option<Platform>,
    http: Option<reqwest::Client>,
    /// Roots trusted on top of the built-in ones by the HTTP client the builder makes.
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    root_certificates: Vec<reqwest::Certificate>,
    retry: RetryPolicy,
    throttle: ThrottleConfig,
    throttle_store: Option<Arc<dyn ThrottleStore>>,
    connect_timeout: Option<Duration>,
    attempt_timeout: Option<Duration>,
    operation_timeout: Option<Duration>,
    read_idle_timeout: Option<Duration>,
    max_body_bytes: Option<usize>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("ClientBuilder");
        f.field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("base_url", &self.base_url)
            .field("platform", &self.platform)
            .field("http", &self.http.as_ref().map(|_| "custom"));
        #[cfg(any(feature = "rustls", feature = "native-tls"))]
        f.field("root_certificates", &self.root_certificates.len());
        f.field("retry", &self.retry)
            .field("throttle", &self.throttle)
            .field("connect_timeout", &self.connect_timeout)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("operation_timeout", &self.operation_timeout)
            .field("read_idle_timeout", &self.read_idle_timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

impl ClientBuilder {
    /// A builder preloaded from the environment (see [`Client::from_env`]); further setters
    /// override what it read.
    pub fn from_env() -> Result<ClientBuilder> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<ClientBuilder> {
        let token = lookup(ENV_API_KEY)
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| {
                Error::Config(format!(
                    "the environment variable {ENV_API_KEY} is not set; set it to your Rescale API key"
                ))
            })?;
        let mut builder = ClientBuilder::default().token(token);
        let url = lookup(ENV_API_URL)
            .filter(|u| !u.trim().is_empty())
            .or_else(|| lookup(ENV_BASE_URL).filter(|u| !u.trim().is_empty()));
        if let Some(url) = url {
            builder = builder.base_url(url);
        }
        Ok(builder)
    }

    /// The API key. Sent as `Token <key>`, or as `Bearer <key>` for a short-lived session
    /// key that looks like a JWT. Kept as a secret: never printed.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(SecretString::from(token.into()));
        self
    }

    /// The base URL with its API prefix, e.g. `https://eu.rescale.com/api/v2/`. A missing
    /// trailing slash is added; a URL with no path at all (`https://eu.rescale.com`) is
    /// refused, naming the form expected. Plain `http` is refused unless the host is loopback.
    /// Takes precedence over [`platform`](ClientBuilder::platform).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The region, when no [`base_url`](ClientBuilder::base_url) is given. US by default.
    pub fn platform(mut self, platform: Platform) -> Self {
        self.platform = Some(platform);
        self
    }

    /// A `reqwest::Client` of your own (proxies, certificates, ...). Its default headers
    /// are kept; the key and User-Agent are added per request.
    ///
    /// It must be built with `redirect(reqwest::redirect::Policy::none())`: the crate
    /// follows redirects itself so that the key stays on the configured origin, and a
    /// client that follows them on its own would send the key along the chain (reqwest
    /// strips it only between the last two hops). [`build`](ClientBuilder::build) refuses
    /// a client whose policy is not `none`, and a call whose answer shows that a redirect
    /// was followed anyway fails with [`Error::Config`].
    ///
    /// ```
    /// let http = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .build()
    ///     .unwrap();
    /// let client = rescale::Client::builder().token("my-api-key").http_client(http).build()?;
    /// # Ok::<(), rescale::Error>(())
    /// ```
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Trusts `certificate` as a root, on top of the built-in roots, in the HTTP client the
    /// builder makes: a private CA of your organisation, or the self-signed certificate of
    /// a server such as `rescale-fake` over HTTPS. May be called more than once; every
    /// certificate is trusted. (For a `reqwest::Client` of your own, reqwest's
    /// `ClientBuilder::tls_certs_merge` does the same.)
    ///
    /// It applies to the client the builder makes only: [`build`](ClientBuilder::build)
    /// refuses it together with [`http_client`](ClientBuilder::http_client) with
    /// [`Error::Config`] rather than ignore it; add the certificate to that client instead.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> rescale::Result<()> {
    /// // A server with a self-signed certificate: the fake platform over HTTPS.
    /// let fake = rescale_fake::FakeRescale::start_https(Default::default()).await;
    /// let pem = fake.certificate_pem().expect("an HTTPS fake has a certificate");
    ///
    /// let certificate = reqwest::Certificate::from_pem(pem.as_bytes()).expect("a PEM file");
    /// let client = rescale::Client::builder()
    ///     .base_url(fake.base_url())
    ///     .token(fake.api_key())
    ///     .add_root_certificate(certificate)
    ///     .build()?;
    /// let page = client.jobs().list().page(1).await?;
    /// assert!(page.results.is_empty());
    /// # Ok(()) }
    /// ```
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "rustls", feature = "native-tls"))))]
    pub fn add_root_certificate(mut self, certificate: reqwest::Certificate) -> Self {
        self.root_certificates.push(certificate);
        self
    }

    /// How failed calls are retried; [`RetryPolicy::default`] (3 more tries, 200 ms to 20 s
    /// of jittered backoff) unless set. [`RetryPolicy::none`] turns retries off. Creating
    /// and submitting jobs are never retried once the request may have arrived.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The client-side request limits per throttling scope, shared by every clone of the
    /// client; Rescale's published limits unless set ([`ThrottleConfig::default`]).
    /// [`ThrottleConfig::off`] lifts them.
    pub fn throttle(mut self, config: ThrottleConfig) -> Self {
        self.throttle = config;
        self
    }

    /// Where the throttle keeps its budgets and pauses: a store shared with other clients,
    /// processes or machines makes them spend one budget together (see [`ThrottleStore`]).
    /// In this client (and its clones) unless set.
    pub fn throttle_store(mut self, store: Arc<dyn ThrottleStore>) -> Self {
        self.throttle_store = Some(store);
        self
    }

    /// How long establishing a connection may take (default 10 s). Applies to the HTTP
    /// client the builder makes: [`build`](ClientBuilder::build) refuses it together with
    /// [`http_client`](ClientBuilder::http_client) with [`Error::Config`] rather than
    /// ignore it; set it on that client instead.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long one attempt may take (default 30 s): until the whole answer for calls that
    /// return a value, until the headers for a download, whose body is governed by
    /// [`read_idle_timeout`](ClientBuilder::read_idle_timeout). An upload's attempt may
    /// take longer as long as its file keeps moving: the timeout counts from the last
    /// chunk sent (or read from the file), so only a stall of that long cuts it, while
    /// the file is sent or while its answer is awaited. Each retry gets its own
    /// attempt timeout; the whole operation is bounded by
    /// [`operation_timeout`](ClientBuilder::operation_timeout).
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// How long a whole operation may take, its throttling waits, every attempt and every
    /// backoff included (none by default): the deadline of one call.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = Some(timeout);
        self
    }

    /// The older name of [`attempt_timeout`](ClientBuilder::attempt_timeout), kept so that
    /// existing code builds; prefer the new name, which says what it bounds.
    pub fn timeout(self, timeout: Duration) -> Self {
        self.attempt_timeout(timeout)
    }

    /// The older name of [`operation_timeout`](ClientBuilder::operation_timeout), kept so
    /// that existing code builds; prefer the new name.
    pub fn deadline(self, deadline: Duration) -> Self {
        self.operation_timeout(deadline)
    }

    /// How long a download's body may go without a single byte arriving (default 60 s). A
    /// long download is never cut by a total timeout, only by this. (Answers read into
    /// memory are bounded by the [`attempt_timeout`](ClientBuilder::attempt_timeout).)
    pub fn read_idle_timeout(mut self, timeout: Duration) -> Self {
        self.read_idle_timeout = Some(timeout);
        self
    }

    /// The largest JSON answer read into memory (default 64 MiB); a larger one is an
    /// error, not an out-of-memory.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = Some(bytes);
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<Client> {
        let token = self.token.ok_or_else(|| {
            Error::Config(
                "no API key: call ClientBuilder::token, or set RESCALE_API_KEY and use Client::from_env"
                    .into(),
            )
        })?;
        let key = token.expose_secret().trim();
        if key.is_empty() {
            return Err(Error::Config("the API key is blank".into()));
        }
        if key.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(Error::Config(
                "the API key contains whitespace or control characters".into(),
            ));
        }
        let authorization = SecretString::from(if looks_like_jwt(key) {
            format!("Bearer {key}")
        } else {
            format!("Token {key}")
        });

        let raw = match &self.base_url {
            Some(u) => u.trim().to_owned(),
            None => self.platform.unwrap_or_default().base_url().to_owned(),
        };
        let base_url = parse_base_url(&raw)?;

        if self.connect_timeout.is_some_and(|d| d.is_zero()) {
            return Err(Error::Config(
                "the connect_timeout must be longer than zero".into(),
            ));
        }
        let settings = Settings {
            retry: self.retry,
            attempt_timeout: self
                .attempt_timeout
                .unwrap_or(transport::DEFAULT_ATTEMPT_TIMEOUT),
            operation_timeout: self.operation_timeout,
            read_idle_timeout: self
                .read_idle_timeout
                .unwrap_or(transport::DEFAULT_READ_IDLE_TIMEOUT),
            max_body_bytes: self
                .max_body_bytes
                .unwrap_or(transport::DEFAULT_MAX_BODY_BYTES),
        };
        settings.check()?;
        let throttle = Throttle::with_store(&self.throttle, self.throttle_store)?;
        // The transport follows redirects itself (src/transport/redirect.rs): reqwest's own
        // following re-sends the key along a chain that leaves the origin and comes back.
        let http = match self.http {
            Some(http) => {
                // Settings of the HTTP client the builder makes would silently not apply.
                #[cfg(any(feature = "rustls", feature = "native-tls"))]
                let certificates = !self.root_certificates.is_empty();
                #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
                let certificates = false;
                let unused = [
                    ("add_root_certificate", certificates),
                    ("connect_timeout", self.connect_timeout.is_some()),
                ];
                if let Some((setting, _)) = unused.iter().find(|(_, set)| *set) {
                    return Err(Error::Config(format!(
                        "ClientBuilder::{setting} applies to the HTTP client the builder \
                         makes, not to one given with ClientBuilder::http_client; set it on \
                         that reqwest::Client instead"
                    )));
                }
                refuse_following_client(http)?
            }
            None => {
                let http = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(transport::CRATE_USER_AGENT)
                    .connect_timeout(
                        self.connect_timeout
                            .unwrap_or(transport::DEFAULT_CONNECT_TIMEOUT),
                    );
                #[cfg(any(feature = "rustls", feature = "native-tls"))]
                let http = http.tls_certs_merge(self.root_certificates);
                http.build()
                    .map_err(|e| Error::Config(format!("could not build the HTTP client: {e}")))?
            }
        };
        Ok(Client {
            transport: Arc::new(Transport::new(
                http,
                base_url,
                authorization,
                throttle,
                settings,
            )?),
            cache: Arc::default(),
        })
    }
}

/// Refuses a client of the caller's that follows redirects on its own. reqwest offers no
/// way to read a client's policy but its `Debug`, which names a policy other than the
/// default (`Policy(None)`, `Policy(Custom)`, `Policy(Limit(5))`); anything but `None`,
/// including a `Debug` this check does not recognise, is refused.
fn refuse_following_client(http: reqwest::Client) -> Result<reqwest::Client> {
    if format!("{http:?}").contains("redirect_policy: \"Policy(None)\"") {
        Ok(http)
    } else {
        Err(Error::Config(
            "the reqwest::Client given to ClientBuilder::http_client follows redirects, which \
             would send the API key along a chain of redirects; build it with \
             `redirect(reqwest::redirect::Policy::none())` (the crate follows redirects itself)"
                .into(),
        ))
    }
}

/// A short-lived session key: a JWT, three base64url parts, the header starting `ey`.
fn looks_like_jwt(key: &str) -> bool {
    let parts: Vec<&str> = key.split('.').collect();
    key.starts_with("ey")
        && parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
        })
}

fn parse_base_url(raw: &str) -> Result<Url> {
    let mut url = Url::parse(raw)
        .map_err(|e| Error::Config(format!("the base URL `{raw}` is not a valid URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(Error::Config(format!(
                "the base URL `{raw}` uses plain http; the API key would travel unencrypted. Use https (plain http is allowed only for loopback hosts)"
            )));
        }
        other => {
            return Err(Error::Config(format!(
                "the base URL `{raw}` has scheme `{other}`; expected https"
            )));
        }
    }
    if url.host().is_none() {
        return Err(Error::Config(format!("the base URL `{raw}` has no host")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Config(
            "the base URL must not carry credentials; use ClientBuilder::token".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(format!(
            "the base URL `{raw}` must not have a query or fragment"
        )));
    }
    if url.path() == "/" {
        let mut expected = url.clone();
        expected.set_path("/api/v2/");
        return Err(Error::Config(format!(
            "the base URL `{raw}` has no API path; expected the form `{expected}`"
        )));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn base_url_gets_its_trailing_slash_and_keeps_the_prefix() {
        let c = Client::builder()
            .token("k")
            .base_url("https://eu.rescale.com/api/v2")
            .build()
            .unwrap();
        assert_eq!(c.base_url().as_str(), "https://eu.rescale.com/api/v2/");
        let c = Client::builder()
            .token("k")
            .base_url("https://platform.rescale.com/api/")
            .build()
            .unwrap();
        assert_eq!(c.base_url().as_str(), "https://platform.rescale.com/api/");
    }

    #[test]
    fn default_is_us_v2_and_platforms_map_to_their_hosts() {
        let c = Client::builder().token("k").build().unwrap();
        assert_eq!(
            c.base_url().as_str(),
            "https://platform.rescale.com/api/v2/"
        );
        for (p, host) in [
            (Platform::Eu, "eu.rescale.com"),
            (Platform::Kr, "kr.rescale.com"),
            (Platform::Jp, "platform.rescale.jp"),
            (Platform::Itar, "itar.rescale.com"),
            (Platform::ItarGov, "itar.rescale-gov.com"),
        ] {
            let c = Client::builder().token("k").platform(p).build().unwrap();
            assert_eq!(c.base_url().host_str(), Some(host));
            assert_eq!(c.base_url().path(), "/api/v2/");
        }
    }

    #[test]
    fn plain_http_is_refused_unless_loopback() {
        let err = Client::builder()
            .token("k")
            .base_url("http://platform.rescale.com/api/v2/")
            .build()
            .unwrap_err();
        assert!(
            matches!(err, Error::Config(ref m) if m.contains("plain http")),
            "{err}"
        );
        for ok in [
            "http://127.0.0.1:8080/api/v2/",
            "http://localhost:1/api/v2/",
            "http://[::1]:9/api/v2/",
        ] {
            Client::builder().token("k").base_url(ok).build().unwrap();
        }
    }

    #[test]
    fn bad_base_urls_are_config_errors() {
        for bad in [
            "not a url",
            "ftp://x/api/",
            "https://u:p@host/api/v2/",
            "https://h/api/v2/?x=1",
        ] {
            let err = Client::builder()
                .token("k")
                .base_url(bad)
                .build()
                .unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn a_base_url_without_an_api_path_is_refused_naming_the_form_expected() {
        for bare in ["https://eu.rescale.com", "https://eu.rescale.com/"] {
            let err = Client::builder()
                .token("k")
                .base_url(bare)
                .build()
                .unwrap_err();
            assert!(
                matches!(&err, Error::Config(m) if m.contains("`https://eu.rescale.com/api/v2/`")),
                "{err}"
            );
        }
    }

    #[test]
    fn a_client_of_ones_own_must_leave_redirects_to_the_crate() {
        let err = Client::builder()
            .token("k")
            .http_client(reqwest::Client::new())
            .build()
            .unwrap_err();
        assert!(
            matches!(&err, Error::Config(m) if m.contains("Policy::none()")),
            "{err}"
        );
        for policy in [
            reqwest::redirect::Policy::limited(3),
            reqwest::redirect::Policy::custom(|attempt| attempt.stop()),
        ] {
            let http = reqwest::Client::builder().redirect(policy).build().unwrap();
            assert!(
                Client::builder()
                    .token("k")
                    .http_client(http)
                    .build()
                    .is_err()
            );
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Client::builder()
            .token("k")
            .http_client(http)
            .build()
            .unwrap();
    }

    #[test]
    fn missing_key_names_the_variable() {
        let err = ClientBuilder::from_lookup(lookup(&[])).unwrap_err();
        assert!(err.to_string().contains("RESCALE_API_KEY"), "{err}");
        let err = Client::builder().build().unwrap_err();
        assert!(matches!(err, Error::Config(_)));
    }

    #[test]
    fn env_reads_url_then_falls_back_to_base_url() {
        let b = ClientBuilder::from_lookup(lookup(&[
            ("RESCALE_API_KEY", "k"),
            ("RESCALE_BASE_URL", "https://kr.rescale.com/api/v2/"),
        ]))
        .unwrap();
        assert_eq!(
            b.build().unwrap().base_url().as_str(),
            "https://kr.rescale.com/api/v2/"
        );
        let b = ClientBuilder::from_lookup(lookup(&[
            ("RESCALE_API_KEY", "k"),
            ("RESCALE_API_URL", "https://eu.rescale.com/api/v2/"),
            ("RESCALE_BASE_URL", "https://kr.rescale.com/api/v2/"),
        ]))
        .unwrap();
        assert_eq!(
            b.build().unwrap().base_url().as_str(),
            "https://eu.rescale.com/api/v2/"
        );
    }

    #[test]
    fn zero_timeouts_and_empty_limits_are_refused_by_name() {
        let err = Client::builder()
            .token("k")
            .attempt_timeout(Duration::ZERO)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("attempt_timeout"), "{err}");
        let err = Client::builder()
            .token("k")
            .operation_timeout(Duration::ZERO)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("operation_timeout"), "{err}");
        // The older names set the same settings.
        let err = Client::builder()
            .token("k")
            .deadline(Duration::ZERO)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("operation_timeout"), "{err}");
        let err = Client::builder()
            .token("k")
            .connect_timeout(Duration::ZERO)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("connect_timeout"), "{err}");
        // A setting of the builder's own HTTP client is refused with a client of one's own.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let err = Client::builder()
            .token("k")
            .connect_timeout(Duration::from_secs(3))
            .http_client(http)
            .build()
            .unwrap_err();
        assert!(
            matches!(&err, Error::Config(m)
                if m.contains("ClientBuilder::connect_timeout")
                    && m.contains("ClientBuilder::http_client")),
            "{err}"
        );
        let err = Client::builder()
            .token("k")
            .throttle(ThrottleConfig::default().submissions(crate::RateLimit::per_hour(0)))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("job submission"), "{err}");
    }

    #[test]
    fn jwt_detection() {
        assert!(looks_like_jwt("eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl"));
        assert!(!looks_like_jwt("eyJhbGciOi.eyJzdWIiOi"));
        assert!(!looks_like_jwt("0123456789abcdef"));
        assert!(!looks_like_jwt("ey..x"));
    }

    #[test]
    fn debug_hides_the_key() {
        let secret = "super-secret-key-123";
        let b = Client::builder().token(secret);
        assert!(!format!("{b:?}").contains(secret));
        let c = b.build().unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains(secret), "{dbg}");
        assert!(dbg.contains("redacted"));
    }

    #[test]
    fn client_is_send_sync_and_cheap_to_clone() {
        fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
        assert_send_sync::<Client>();
    }
}
