//! The end-to-end test harness: starts the four provider sandboxes (the `provider-sandbox`
//! crate's library, in the test process, sharing no code with the verifier), then a real
//! verifier pointed at them (on a SQLite file, or on a PostgreSQL database of its own with
//! `E2E_DATABASE=postgres`: [`database`]), and the demo shop, all on port 0, and offers
//! high-level helpers over real HTTP.

pub mod browser;
pub mod crash;
pub mod database;
pub mod instances;

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
use secrecy::SecretString;
use server::{
    config::{
        CheckoutSettings, LimitSettings, MerchantSettings, NovaSendSettings, ReconcileSettings, Settings,
    },
    providers::caurisflux::Settings as CaurisFluxSettings,
    startup::Application,
};
use shared::{
    api::{Checkout, PublicCheckout},
    status::CheckoutStatus,
};

/// The merchant key a test-mode verifier of the harness accepts (`[merchant] secret_key`:
/// `mk_test_` and at least 32 base62 characters, `server::merchant_keys::check`).
pub const MERCHANT_KEY: &str = "mk_test_e2e0123456789abcdefABCDEFGHIJKLM";
/// The merchant key a live-mode verifier of the harness (`Options::live`) accepts.
pub const MERCHANT_KEY_LIVE: &str = "mk_live_e2e0123456789abcdefABCDEFGHIJKLM";
/// NovaSend sandbox credentials of the test verifier.
pub const NOVASEND_KEY: &str = "ns_key_e2e";
/// NovaSend sandbox API client of the test verifier.
pub const NOVASEND_CLIENT: &str = "ns_client_e2e";
/// The webhook secret shared by the test verifier and its sandbox.
pub const WEBHOOK_SECRET: &str = "ns_webhook_secret_e2e";
/// Scalapay API key of the test verifier and its sandbox (it also signs Scalapay's webhooks).
pub const SCALAPAY_KEY: &str = "sp_e2e_key_0123456789";
/// The Scalapay sandbox's contract maximum in the tests: 2,000.00 EUR.
pub const SCALAPAY_MAX_ORDER_MINOR: u64 = 200_000;

/// CaurisFlux sandbox public key of the test verifier (a test key: the sandbox environment).
pub const CAURISFLUX_PUBLIC_KEY: &str = "pk_test_e2e";
/// CaurisFlux sandbox secret key of the test verifier.
pub const CAURISFLUX_SECRET_KEY: &str = "sk_test_e2e";
/// The CaurisFlux webhook secret shared by the test verifier and its sandbox.
pub const CAURISFLUX_WEBHOOK_SECRET: &str = "cf_webhook_secret_e2e";

/// MyPVit: the secret last segment of the callback and key-reception path.
pub const MYPVIT_TOKEN: &str = "mp_token_e2e_0123456789";
/// MyPVit: the test operation account.
pub const MYPVIT_ACCOUNT: &str = "ACC_E2E0000001";

/// The Standard Webhooks secret the test verifier signs merchant webhooks with.
pub const MERCHANT_WEBHOOK_SECRET: &str = "whsec_ZTJlLW1lcmNoYW50LXdlYmhvb2stc2VjcmV0LTAxMjM=";
/// MyPVit: the test account's password.
pub const MYPVIT_PASSWORD: &str = "mp_password_e2e";
/// MyPVit: the URL codes of the test account (they stand for credentials in MyPVit's paths).
pub const MYPVIT_URL_CODES: [&str; 5] = ["E2ERENEW", "E2EREST", "E2ESTATUS", "E2ERC", "E2ECB"];

/// The environment variable naming the file the verifier's logs go to (`cargo xtask test`
/// sets it and audits the file after the run: [`log_audit_needles`]).
pub const LOG_FILE_ENV: &str = "E2E_LOG_FILE";

/// Phone numbers the tests type besides the sandboxes' documented ones.
const OTHER_TEST_PHONES: [(&str, shared::phone::Country); 9] = [
    ("0707123456", shared::phone::Country::Ci),
    ("0707123457", shared::phone::Country::Ci),
    ("0707123458", shared::phone::Country::Ci),
    ("0749929598", shared::phone::Country::Ci),
    ("0153013761", shared::phone::Country::Ci),
    ("077416546", shared::phone::Country::Ga),
    ("066820866", shared::phone::Country::Ga),
    ("771234567", shared::phone::Country::Sn),
    ("770000001", shared::phone::Country::Sn),
];

/// What must never appear in the verifier's logs, as `(what, text)`: every secret the tests
/// configure, and every phone number they use (the sandboxes' documented test numbers, and
/// CaurisFlux's triggers on each Ivorian network) in every form a log could print it: E.164,
/// digits only, national, and both spaced forms.
pub fn log_audit_needles() -> Vec<(String, String)> {
    use shared::phone::{Country, PhoneNumber};
    let mut needles: Vec<(String, String)> = [
        ("MERCHANT_KEY", MERCHANT_KEY),
        ("MERCHANT_KEY_LIVE", MERCHANT_KEY_LIVE),
        ("NOVASEND_KEY", NOVASEND_KEY),
        ("NOVASEND_CLIENT", NOVASEND_CLIENT),
        ("WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("SCALAPAY_KEY", SCALAPAY_KEY),
        ("CAURISFLUX_SECRET_KEY", CAURISFLUX_SECRET_KEY),
        ("CAURISFLUX_WEBHOOK_SECRET", CAURISFLUX_WEBHOOK_SECRET),
        ("MYPVIT_TOKEN", MYPVIT_TOKEN),
        ("MYPVIT_PASSWORD", MYPVIT_PASSWORD),
        ("MERCHANT_WEBHOOK_SECRET", MERCHANT_WEBHOOK_SECRET),
    ]
    .into_iter()
    .chain(MYPVIT_URL_CODES.iter().map(|c| ("MYPVIT_URL_CODES", *c)))
    .map(|(what, text)| (format!("secret {what}"), text.to_owned()))
    .collect();
    let mut phones: Vec<PhoneNumber> = Vec::new();
    phones.extend(
        sandboxes::novasend::TEST_NUMBERS.iter().filter_map(|t| PhoneNumber::parse_e164(t.msisdn).ok()),
    );
    phones.extend(
        sandboxes::mypvit::TEST_NUMBERS.iter().filter_map(|t| PhoneNumber::parse(t.number, Country::Ga).ok()),
    );
    for trigger in sandboxes::caurisflux::TEST_TRIGGERS {
        for network in ["01", "05", "07"] {
            let national = format!("{network}000000{}", trigger.suffix);
            phones.extend(PhoneNumber::parse(&national, Country::Ci).ok());
        }
    }
    phones.extend(OTHER_TEST_PHONES.iter().filter_map(|(n, c)| PhoneNumber::parse(n, *c).ok()));
    phones.sort_by(|a, b| a.as_e164().cmp(b.as_e164()));
    phones.dedup();
    for p in phones {
        let e164 = p.as_e164().to_owned();
        let trunk = if p.country() == Country::Ga { "0" } else { "" };
        let forms = [
            e164.clone(),
            e164.trim_start_matches('+').to_owned(),
            format!("{trunk}{}", p.nsn()),
            p.format_national(),
            p.format_international(),
        ];
        for form in forms {
            needles.push((format!("phone {e164}"), form));
        }
    }
    needles.sort();
    needles.dedup();
    needles
}

/// Once per test binary: with [`LOG_FILE_ENV`] set, the verifier's logs (its `server` and
/// `verifier` targets at `debug`) are appended to that file through the verifier's own writer,
/// and the needles of [`log_audit_needles`] written beside it (`<file>.needles`, one
/// `what<TAB>text` a line) for `cargo xtask test` to look for; else `TEST_LOG` prints them.
fn install_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| match std::env::var_os(LOG_FILE_ENV) {
        Some(path) => {
            let path = PathBuf::from(path);
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap_or_else(|e| panic!("{LOG_FILE_ENV}={}: {e}", path.display()));
            let needles: String =
                log_audit_needles().into_iter().map(|(what, text)| format!("{what}\t{text}\n")).collect();
            let mut needles_path = path.clone().into_os_string();
            needles_path.push(".needles");
            std::fs::write(&needles_path, needles).expect("the needles file beside the log");
            server::telemetry::init_with("warn,server=debug,verifier=debug", std::sync::Mutex::new(file));
        }
        None if std::env::var_os("TEST_LOG").is_some() => server::telemetry::init(),
        None => {}
    });
}

/// Knobs for one test's verifier.
#[derive(Debug, Clone)]
pub struct Options {
    /// Sandbox: delay before a test customer answers.
    pub confirm_delay_ms: u64,
    /// Sandbox: delay before an unanswered session expires.
    pub expire_after_ms: u64,
    /// Verifier: interval between status fetches.
    pub poll_interval_ms: u64,
    /// Sandbox: send webhooks here instead of to the verifier.
    pub webhook_url_override: Option<String>,
    /// Scalapay: keep authorisations for a later capture.
    pub scalapay_delay_capture: bool,
    /// Scalapay sandbox: how long an order waits for the customer.
    pub scalapay_order_expiry_ms: u64,
    /// MyPVit sandbox: send callbacks here instead of to the verifier (keys still arrive).
    pub mypvit_callback_url_override: Option<String>,
    /// Verifier: cap on the gap between status fetches (each provider's own when absent).
    pub max_poll_interval_ms: Option<u64>,
    /// Run without CaurisFlux (and its sandbox), so that Gabon's Airtel and Moov go to MyPVit
    /// when the payer names no provider (as the widget does).
    pub without_caurisflux: bool,
    /// Merchant webhooks: the endpoint (signed with [`MERCHANT_WEBHOOK_SECRET`]); none records
    /// events without sending them.
    pub merchant_webhook_url: Option<String>,
    /// Merchant webhooks: the delays before each retry.
    pub merchant_webhook_retry_delays_ms: Vec<u64>,
    /// SQLite only: keep the database in this directory instead of a fresh one (a test that
    /// restarts a verifier on its database uses [`TestApp::restart_with`], which works on
    /// both backends).
    pub database_dir: Option<PathBuf>,
    /// Verifier: every provider adapter's HTTP timeout.
    pub provider_timeout_ms: u64,
    /// Verifier: run the inbox worker (off: notifications are stored and answered only).
    pub inbox_worker: bool,
    /// Verifier: every provider in live mode with `allow_custom_host`, the sandboxes standing in
    /// for the official hosts. CaurisFlux's test keys refuse live mode: use with
    /// `without_caurisflux`.
    pub live: bool,
    /// CaurisFlux: the account's requests a minute, given to both its sandbox and the
    /// verifier's `rate_per_minute` (the documented 100 by default).
    pub caurisflux_rate_per_minute: u32,
    /// CaurisFlux: the account's requests an hour, to both (the documented 1 000 by default).
    pub caurisflux_rate_per_hour: u32,
    /// Verifier: `[http] header_read_timeout_ms` (the default 10 s).
    pub header_read_timeout_ms: u64,
    /// Verifier: `[http] request_timeout_ms` (the default 30 s).
    pub request_timeout_ms: u64,
    /// Verifier: `[http] body_read_timeout_ms` (the default 10 s).
    pub body_read_timeout_ms: u64,
    /// Verifier: `[http] max_connections` (the default 10 000).
    pub max_connections: usize,
    /// Verifier: `[http] max_concurrent_requests` (the default 1 024).
    pub max_concurrent_requests: usize,
    /// Verifier: `[public_api] sse_per_checkout` (the default 20).
    pub sse_per_checkout: usize,
    /// Verifier: `[public_api] sse_max_lifetime_s` (the default 30 min).
    pub sse_max_lifetime_s: u64,
    /// Verifier: `[public_api] allowed_origins`, the shop pages' origins (none by default).
    pub allowed_origins: Vec<String>,
    /// Verifier: `[limits]`. `None` (the default) is [`LimitSettings::generous`]: every test
    /// client is 127.0.0.1 and some tests pay hundreds of times with one number; the tests of
    /// the limits set their own.
    pub limits: Option<LimitSettings>,
    /// Verifier: `[routing]` (the defaults: the first configured provider while it is up,
    /// a 30 s cool-down).
    pub routing: server::routing::RoutingSettings,
    /// Verifier: `[checkout] ttl_seconds`, how long a checkout can be paid (30 min by default).
    pub checkout_ttl_s: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            confirm_delay_ms: 300,
            expire_after_ms: 3_000,
            poll_interval_ms: 5_000,
            webhook_url_override: None,
            scalapay_delay_capture: false,
            scalapay_order_expiry_ms: 60_000,
            mypvit_callback_url_override: None,
            max_poll_interval_ms: None,
            without_caurisflux: false,
            merchant_webhook_url: None,
            merchant_webhook_retry_delays_ms: vec![100, 200, 400],
            database_dir: None,
            provider_timeout_ms: 10_000,
            inbox_worker: true,
            live: false,
            caurisflux_rate_per_minute: sandboxes::caurisflux::DEFAULT_RATE_PER_MINUTE,
            caurisflux_rate_per_hour: sandboxes::caurisflux::DEFAULT_RATE_PER_HOUR,
            header_read_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            body_read_timeout_ms: 10_000,
            max_connections: 10_000,
            max_concurrent_requests: 1_024,
            sse_per_checkout: 20,
            sse_max_lifetime_s: 1800,
            allowed_origins: Vec::new(),
            limits: None,
            routing: server::routing::RoutingSettings::default(),
            checkout_ttl_s: 1800,
        }
    }
}

/// A running verifier with its sandbox, for one test.
#[derive(Debug)]
pub struct TestApp {
    /// The verifier's base URL.
    pub url: String,
    /// Its `/metrics` (`[metrics] listen`, on a port of its own).
    pub metrics_url: String,
    /// The NovaSend sandbox's base URL.
    pub novasend_url: String,
    /// The CaurisFlux sandbox's base URL (its API is under `/api/v1`).
    pub caurisflux_url: String,
    /// The Scalapay sandbox's base URL.
    pub scalapay_url: String,
    /// The MyPVit sandbox's base URL.
    pub mypvit_url: String,
    /// An HTTP client.
    pub http: reqwest::Client,
    /// The merchant key of this verifier's mode: [`MERCHANT_KEY`] or [`MERCHANT_KEY_LIVE`].
    pub merchant_key: &'static str,
    server: tokio::task::JoinHandle<()>,
    /// Asks the verifier to stop gracefully, as SIGTERM does ([`TestApp::shut_down`]).
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// The sandboxes this verifier talks to; they stop when the test app is dropped.
    _sandboxes: sandboxes::Sandboxes,
    /// The verifier's database, shared with restarts.
    db: Database,
}

/// A test verifier's database.
#[derive(Debug, Clone)]
enum Database {
    /// A SQLite file.
    Sqlite {
        /// The file.
        path: PathBuf,
        /// Its temporary directory, removed with the last verifier on it (`None` when the
        /// test chose the directory).
        _dir: Option<Arc<tempfile::TempDir>>,
    },
    /// A PostgreSQL database of its own, dropped with the last verifier on it.
    Postgres(Arc<database::PgDatabase>),
}

impl Database {
    /// A fresh database on this run's backend ([`database::backend`]): on SQLite the file
    /// `verifier.db` in `sqlite_dir` (a new temporary directory when `None`).
    async fn fresh(sqlite_dir: Option<&std::path::Path>) -> Database {
        match (database::backend(), sqlite_dir) {
            (database::Backend::Sqlite, Some(dir)) => {
                Database::Sqlite { path: dir.join("verifier.db"), _dir: None }
            }
            (database::Backend::Sqlite, None) => {
                let tmp = tempfile::tempdir().expect("temp dir");
                Database::Sqlite { path: tmp.path().join("verifier.db"), _dir: Some(Arc::new(tmp)) }
            }
            (database::Backend::Postgres, _) => Database::Postgres(Arc::new(
                database::PgDatabase::create().await.expect("a test database on TEST_DATABASE_URL"),
            )),
        }
    }

    /// The database of `options`: the SQLite file in its `database_dir` (SQLite only), else a
    /// fresh one.
    async fn of(options: &Options) -> Database {
        if let Some(dir) = &options.database_dir {
            assert_eq!(
                database::backend(),
                database::Backend::Sqlite,
                "Options::database_dir ({}) is a SQLite file's directory: restart on PostgreSQL with TestApp::restart_with",
                dir.display()
            );
        }
        Database::fresh(options.database_dir.as_deref()).await
    }

    /// The verifier's `database_url`.
    fn url(&self) -> String {
        match self {
            Database::Sqlite { path, .. } => format!("sqlite://{}", path.display()),
            Database::Postgres(db) => db.url().to_owned(),
        }
    }
}

/// Where `cargo xtask build-widget` puts the widget (overridable with `WIDGET_DIR`).
pub fn widget_dir() -> PathBuf {
    std::env::var_os("WIDGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/widget"))
}

impl TestApp {
    /// Starts a verifier with default options.
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(Options::default()).await
    }

    /// Starts a verifier with `options`.
    pub async fn spawn_with(options: Options) -> TestApp {
        let db = Database::of(&options).await;
        TestApp::spawn_on(options, db).await
    }

    /// Starts another verifier (with new sandboxes) on this one's database, as a restart
    /// would; this one keeps running.
    pub async fn restart_with(&self, options: Options) -> TestApp {
        let db = match &options.database_dir {
            Some(_) => Database::of(&options).await,
            // The database (its temporary directory, or the PostgreSQL database) stays as long
            // as either verifier.
            None => self.db.clone(),
        };
        TestApp::spawn_on(options, db).await
    }

    /// Whether the verifier runs on a SQLite file (else on PostgreSQL).
    pub fn on_sqlite(&self) -> bool {
        matches!(self.db, Database::Sqlite { .. })
    }

    /// A second connection to the verifier's database, through the store interface, to read
    /// what the API does not show (as `verifier keys` or another instance would).
    pub async fn store(&self) -> Arc<dyn server::store::Store> {
        database::open_store(&self.database_url()).await.expect("the verifier's database opens")
    }

    /// How many status fetches the reconciler made of a pending attempt (read from its
    /// database); 0 when the attempt is not pending.
    pub async fn attempt_polls(&self, attempt_id: &str) -> u32 {
        let due = self.store().await.due_attempts(i64::MAX, 1000).await.expect("pending attempts");
        due.into_iter().find(|(a, _)| a.id == attempt_id).map_or(0, |(_, polls)| polls)
    }

    /// Every provider notification the verifier stored, oldest first (read from its database).
    pub async fn notifications(&self) -> Vec<server::store::NotificationRecord> {
        self.store().await.notifications(None).await.expect("notifications")
    }

    /// The samples of refused notifications the verifier kept for `provider`, oldest first.
    pub async fn refused_samples(
        &self,
        provider: shared::method::Provider,
    ) -> Vec<server::store::RefusedSample> {
        self.store().await.refused_samples(provider).await.expect("refused samples")
    }

    /// How many refused notifications the verifier has written down for `provider` (its tally
    /// is written every few seconds).
    pub async fn refused_count(&self, provider: shared::method::Provider) -> u64 {
        let counts = self.store().await.refused_counts().await.expect("refused counts");
        counts.iter().filter(|c| c.provider == provider).map(|c| c.refused).sum()
    }

    /// SQLite only (`None` on PostgreSQL): the database's size as of its latest commit, in
    /// bytes (`page_count × page_size`, read through the write-ahead log): what its tables and
    /// indices take, whatever the log's own file holds before a checkpoint.
    pub async fn database_bytes(&self) -> Option<u64> {
        use sqlx::Connection;
        let Database::Sqlite { path, .. } = &self.db else { return None };
        let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", path.display()))
            .await
            .expect("the database, read-only");
        let pages: i64 =
            sqlx::query_scalar("PRAGMA page_count").fetch_one(&mut db).await.expect("page_count");
        let size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(&mut db).await.expect("page_size");
        Some(u64::try_from(pages * size).expect("a size"))
    }

    /// SQLite only (`None` on PostgreSQL): the bytes of the database's files on disk, the file
    /// and its write-ahead log.
    pub fn database_file_bytes(&self) -> Option<u64> {
        let Database::Sqlite { path, .. } = &self.db else { return None };
        Some(
            ["", "-wal"]
                .iter()
                .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", path.display())).ok())
                .map(|m| m.len())
                .sum(),
        )
    }

    /// Sets how the sandbox at `sandbox_url` misbehaves (`POST /_sandbox/misbehave`).
    pub async fn misbehave(&self, sandbox_url: &str, setting: serde_json::Value) {
        let r = self
            .http
            .post(format!("{sandbox_url}/_sandbox/misbehave"))
            .json(&setting)
            .send()
            .await
            .expect("sandbox reachable");
        assert_eq!(r.status(), 200, "{setting}: {}", r.text().await.unwrap_or_default());
    }

    /// Makes the sandbox at `sandbox_url` behave again (`DELETE /_sandbox/misbehave`).
    pub async fn behave(&self, sandbox_url: &str) {
        let r = self
            .http
            .delete(format!("{sandbox_url}/_sandbox/misbehave"))
            .send()
            .await
            .expect("sandbox reachable");
        assert_eq!(r.status(), 204);
    }

    async fn spawn_on(options: Options, db: Database) -> TestApp {
        install_logs();
        // The verifier's listener first: the sandboxes need its webhook URLs, the verifier
        // their base URLs.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let verifier_url = format!("http://{}", listener.local_addr().expect("bound"));
        let sandboxes = start_sandboxes(&options, &verifier_url).await;
        let mode = if options.live { server::config::Mode::Live } else { server::config::Mode::Test };
        let mut settings = Settings {
            listen: "127.0.0.1:0".parse().expect("address"),
            public_url: None,
            database_url: db.url(),
            widget_dir: widget_dir(),
            merchant: MerchantSettings {
                name: "Boutique Test".into(),
                secret_key: Some(SecretString::from(if options.live {
                    MERCHANT_KEY_LIVE
                } else {
                    MERCHANT_KEY
                })),
            },
            checkout: CheckoutSettings {
                default_country: shared::phone::Country::Ci,
                ttl_seconds: options.checkout_ttl_s,
            },
            reconcile: ReconcileSettings {
                poll_interval_ms: options.poll_interval_ms,
                max_poll_interval_ms: options.max_poll_interval_ms,
                // A live verifier keeps the providers' floor (and refuses to ignore it).
                ignore_provider_poll_floor: !options.live,
            },
            novasend: Some(NovaSendSettings {
                mode,
                allow_custom_host: options.live,
                base_url: "http://unused.invalid".into(),
                api_key: SecretString::from(NOVASEND_KEY),
                api_client: SecretString::from(NOVASEND_CLIENT),
                webhook_secret: SecretString::from(WEBHOOK_SECRET),
                account_id: None,
                timeout_ms: options.provider_timeout_ms,
                webhook_secret_previous: None,
                webhook_secret_previous_until: None,
                // The sandbox's own (`SandboxConfig::expire_after_ms`).
                confirmation_window_s: Some(options.expire_after_ms / 1000),
            }),
            caurisflux: (!options.without_caurisflux).then(|| CaurisFluxSettings {
                mode,
                allow_custom_host: options.live,
                base_url: server::providers::caurisflux::SANDBOX_URL.into(),
                public_key: CAURISFLUX_PUBLIC_KEY.into(),
                secret_key: SecretString::from(CAURISFLUX_SECRET_KEY),
                webhook_secret: SecretString::from(CAURISFLUX_WEBHOOK_SECRET),
                timeout_ms: options.provider_timeout_ms,
                rate_per_minute: std::num::NonZeroU32::new(options.caurisflux_rate_per_minute)
                    .expect("a CaurisFlux rate above zero"),
                rate_per_hour: std::num::NonZeroU32::new(options.caurisflux_rate_per_hour)
                    .expect("a CaurisFlux rate above zero"),
                webhook_secret_previous: None,
                webhook_secret_previous_until: None,
                confirmation_window_s: Some(options.expire_after_ms / 1000),
            }),
            scalapay: Some(server::providers::scalapay::Settings {
                mode,
                allow_custom_host: options.live,
                base_url: "http://unused.invalid".into(),
                api_key: SecretString::from(SCALAPAY_KEY),
                delay_capture: options.scalapay_delay_capture,
                authorization_expiry_ms: server::providers::scalapay::wire::DEFAULT_AUTHORIZATION_EXPIRY_MS,
                order_expiry_ms: None,
                item_category: "clothes".into(),
                shipping: server::providers::scalapay::ShippingAddress {
                    line1: "12 rue des Tisserands".into(),
                    suburb: "Lyon".into(),
                    postcode: "69003".into(),
                    country_code: "FR".into(),
                },
                timeout_ms: options.provider_timeout_ms,
                webhook_secret_previous: None,
                webhook_secret_previous_until: None,
            }),
            mypvit: Some(server::providers::mypvit::Settings {
                mode,
                allow_custom_host: options.live,
                ..mypvit_settings(options.provider_timeout_ms)
            }),
            merchant_webhooks: options.merchant_webhook_url.clone().map(|url| {
                server::config::MerchantWebhookSettings {
                    url,
                    secret: SecretString::from(MERCHANT_WEBHOOK_SECRET),
                    timeout_ms: 5_000,
                    retry_delays_ms: options.merchant_webhook_retry_delays_ms.clone(),
                }
            }),
            http: server::config::HttpSettings {
                header_read_timeout_ms: nonzero(options.header_read_timeout_ms),
                request_timeout_ms: nonzero(options.request_timeout_ms),
                body_read_timeout_ms: nonzero(options.body_read_timeout_ms),
                max_connections: nonzero(options.max_connections),
                max_concurrent_requests: nonzero(options.max_concurrent_requests),
            },
            public_api: server::config::PublicApiSettings {
                allowed_origins: options
                    .allowed_origins
                    .iter()
                    .map(|o| server::config::Origin::try_from(o.clone()).expect("an origin"))
                    .collect(),
                sse_per_checkout: nonzero(options.sse_per_checkout),
                sse_max_lifetime_s: nonzero(options.sse_max_lifetime_s),
                ..server::config::PublicApiSettings::default()
            },
            limits: options.limits.clone().unwrap_or_else(LimitSettings::generous),
            retention: server::config::RetentionSettings::default(),
            routing: options.routing.clone(),
            // Every test verifier serves its metrics, on a port of its own.
            metrics: server::config::MetricsSettings {
                listen: Some("127.0.0.1:0".parse().expect("address")),
            },
            log: server::config::LogSettings::default(),
        };
        if let Some(ns) = settings.novasend.as_mut() {
            ns.base_url = sandboxes.novasend.api_url();
        }
        if let Some(cf) = settings.caurisflux.as_mut() {
            cf.base_url = sandboxes.caurisflux.api_url();
        }
        if let Some(sp) = settings.scalapay.as_mut() {
            sp.base_url = sandboxes.scalapay.api_url();
        }
        if let Some(mp) = settings.mypvit.as_mut() {
            mp.base_url = sandboxes.mypvit.api_url();
        }
        let mut app = Application::build_on(listener, settings).await.expect("verifier starts");
        if !options.inbox_worker {
            app = app.without_inbox_worker();
        }
        let url = app.base_url().to_owned();
        let metrics_url = format!("http://{}/metrics", app.metrics_addr().expect("a metrics listener"));
        let novasend_url = sandboxes.novasend.base_url();
        let scalapay_url = sandboxes.scalapay.base_url();
        let caurisflux_url =
            if options.without_caurisflux { String::new() } else { sandboxes.caurisflux.base_url() };
        let mypvit_url = sandboxes.mypvit.base_url();
        // `TestApp::shut_down` stops it gracefully; dropped unsent, it never does.
        let (shutdown, asked) = tokio::sync::oneshot::channel::<()>();
        let server = app.spawn_until(async move {
            if asked.await.is_err() {
                std::future::pending::<()>().await;
            }
        });
        TestApp {
            url,
            metrics_url,
            novasend_url,
            caurisflux_url,
            scalapay_url,
            mypvit_url,
            http: reqwest::Client::new(),
            merchant_key: if options.live { MERCHANT_KEY_LIVE } else { MERCHANT_KEY },
            server,
            shutdown: Some(shutdown),
            _sandboxes: sandboxes,
            db,
        }
    }

    /// The verifier's database URL (a second connection may read it while the verifier runs).
    pub fn database_url(&self) -> String {
        self.db.url()
    }

    /// Stops the verifier as a killed process would: no graceful end, its background tasks
    /// too (the sandboxes keep running).
    pub async fn stop(self) {
        self.server.abort();
        let _ = self.server.await;
    }

    /// Stops the verifier as SIGTERM does (no new connection, the requests in flight answered,
    /// the background work stopped between two items) and waits until it has stopped; its
    /// database stays for a restart.
    pub async fn shut_down(&mut self) {
        if let Some(asked) = self.shutdown.take() {
            let _ = asked.send(());
            (&mut self.server).await.expect("the verifier's task ends");
        }
    }

    /// `POST /v1/checkouts` with the merchant key; returns the status and the JSON body.
    pub async fn create_checkout_raw(&self, body: serde_json::Value, key: &str) -> (u16, serde_json::Value) {
        let r = self
            .http
            .post(format!("{}/v1/checkouts", self.url))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .expect("verifier reachable");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Creates a checkout of `amount` XOF; panics unless it is created.
    pub async fn create_checkout(&self, amount: u64) -> Checkout {
        let reference = format!("order-{}", uuid::Uuid::new_v4());
        let (status, body) = self
            .create_checkout_raw(
                serde_json::json!({"amount": amount, "currency": "XOF", "reference": reference, "description": "Test"}),
                self.merchant_key,
            )
            .await;
        assert_eq!(status, 201, "{body}");
        serde_json::from_value(body).expect("a checkout")
    }

    /// `GET /v1/checkouts/{id}` with the merchant key.
    pub async fn merchant_checkout(&self, id: &str) -> Checkout {
        self.http
            .get(format!("{}/v1/checkouts/{id}", self.url))
            .bearer_auth(self.merchant_key)
            .send()
            .await
            .expect("verifier reachable")
            .json()
            .await
            .expect("a checkout")
    }

    /// `GET /v1/checkouts/{id}/events` with the merchant key: the checkout's merchant events,
    /// oldest first.
    pub async fn merchant_events(&self, checkout_id: &str) -> Vec<serde_json::Value> {
        let r = self
            .http
            .get(format!("{}/v1/checkouts/{checkout_id}/events", self.url))
            .bearer_auth(self.merchant_key)
            .send()
            .await
            .expect("verifier reachable");
        assert_eq!(r.status(), 200);
        r.json().await.expect("events")
    }

    /// `POST /v1/public/checkouts/{id}/pay` with a client secret and any JSON body.
    pub async fn pay_raw(&self, id: &str, secret: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let r = self
            .http
            .post(format!("{}/v1/public/checkouts/{id}/pay", self.url))
            .bearer_auth(secret)
            .json(&body)
            .send()
            .await
            .expect("verifier reachable");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// `GET /v1/public/checkouts/{id}` with a client secret.
    pub async fn public_checkout(&self, id: &str, secret: &str) -> PublicCheckout {
        self.http
            .get(format!("{}/v1/public/checkouts/{id}", self.url))
            .bearer_auth(secret)
            .send()
            .await
            .expect("verifier reachable")
            .json()
            .await
            .expect("a public checkout")
    }

    /// A checkout of `amount` XOF paid through NovaSend's sandbox (a test number that
    /// confirms), once the merchant API says it succeeded.
    pub async fn paid_checkout(&self, amount: u64) -> Checkout {
        let c = self.create_checkout(amount).await;
        let (status, body) = self
            .pay_raw(
                &c.id,
                c.client_secret.as_deref().expect("create returns the client secret"),
                serde_json::json!({"method": "mobile_money", "phone": "0700000001"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let done =
            self.wait_for(&c.id, Duration::from_secs(15), |c| c.status == CheckoutStatus::Succeeded).await;
        assert_eq!(done.status, CheckoutStatus::Succeeded);
        c
    }

    /// Polls the merchant API until `done` holds or `timeout` passes; returns the last read.
    pub async fn wait_for(&self, id: &str, timeout: Duration, done: impl Fn(&Checkout) -> bool) -> Checkout {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let c = self.merchant_checkout(id).await;
            if done(&c) || tokio::time::Instant::now() >= deadline {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The payins the sandbox holds (its inspection endpoint).
    pub async fn sandbox_payins(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        self.http
            .get(format!("{}/_sandbox/payins", self.novasend_url))
            .send()
            .await?
            .json()
            .await
            .context("sandbox listing")
    }
}

/// The four sandboxes for a verifier at `verifier_url`, with the test verifier's accounts, each
/// sending its webhooks to the verifier's route (or to the options' override).
async fn start_sandboxes(options: &Options, verifier_url: &str) -> sandboxes::Sandboxes {
    use sandboxes::{Setup, caurisflux, mypvit, novasend, scalapay};
    let local: std::net::SocketAddr = "127.0.0.1:0".parse().expect("address");
    let hook =
        |path: &str| options.webhook_url_override.clone().unwrap_or_else(|| format!("{verifier_url}{path}"));
    let mp = mypvit_settings(options.provider_timeout_ms);
    let mypvit_hook = format!("{verifier_url}/webhooks/my_pvit/{MYPVIT_TOKEN}");
    let codes = &mp.url_codes;
    let mypvit_merchant = mypvit::Merchant {
        operation_account_code: mp.operation_account_code.clone(),
        password: "mp_password_e2e".into(),
        url_codes: mypvit::UrlCodes {
            renew_secret: codes.renew_secret.clone(),
            rest: codes.rest.clone(),
            status: codes.status.clone(),
            // MyPVit's APIs the verifier does not call: the sandbox's own codes.
            link: "E2ELINK".into(),
            balance: "E2EBALANCE".into(),
            kyc: "E2EKYC".into(),
        },
        reception_url_code: mp.reception_url_code.clone(),
        callback_url_code: mp.callback_url_code.clone(),
        success_redirection_url_code: Some("E2EOK".into()),
        failed_redirection_url_code: Some("E2EKO".into()),
        reception_url: mypvit_hook.clone(),
        callback_url: options.mypvit_callback_url_override.clone().unwrap_or(mypvit_hook),
        success_url: format!("{verifier_url}/healthz"),
        failed_url: format!("{verifier_url}/healthz"),
    };
    sandboxes::start_all(sandboxes::AllConfig {
        novasend: Setup {
            config: novasend::SandboxConfig {
                listen: local,
                confirm_delay_ms: options.confirm_delay_ms,
                expire_after_ms: options.expire_after_ms,
            },
            merchant: novasend::Merchant {
                api_key: NOVASEND_KEY.into(),
                api_client: NOVASEND_CLIENT.into(),
                webhook_url: hook("/webhooks/nova_send"),
                webhook_secret: WEBHOOK_SECRET.into(),
            },
        },
        caurisflux: Setup {
            config: caurisflux::SandboxConfig {
                listen: local,
                confirm_delay_ms: options.confirm_delay_ms,
                expire_after_ms: options.expire_after_ms,
                rate_per_minute: options.caurisflux_rate_per_minute,
                rate_per_hour: options.caurisflux_rate_per_hour,
                ..Default::default()
            },
            merchant: caurisflux::Merchant {
                public_key: CAURISFLUX_PUBLIC_KEY.into(),
                secret_key: CAURISFLUX_SECRET_KEY.into(),
                webhook_url: hook("/webhooks/cauris_flux"),
                webhook_secret: CAURISFLUX_WEBHOOK_SECRET.into(),
            },
        },
        scalapay: Setup {
            config: scalapay::SandboxConfig {
                listen: local,
                order_expiry_ms: options.scalapay_order_expiry_ms,
                max_order_amount_minor: SCALAPAY_MAX_ORDER_MINOR,
            },
            merchant: scalapay::Merchant {
                api_key: SCALAPAY_KEY.into(),
                webhook_url: hook("/webhooks/scalapay"),
            },
        },
        mypvit: Setup {
            config: mypvit::SandboxConfig {
                listen: local,
                confirm_delay_ms: options.confirm_delay_ms,
                secret_ttl_s: 3600,
                link_expire_after_ms: options.expire_after_ms,
                // Every e2e payment proves the adapter sends only the document's table fields.
                strict_fields: true,
                ..Default::default()
            },
            merchant: mypvit_merchant,
        },
    })
    .await
    .expect("the sandboxes start")
}

/// The MyPVit account of the test verifier: fast key delivery, callbacks from 127.0.0.1 only.
/// A setting that must not be zero.
fn nonzero<T: TryInto<N>, N>(n: T) -> N {
    n.try_into().unwrap_or_else(|_| panic!("an Options value of zero"))
}

fn mypvit_settings(timeout_ms: u64) -> server::providers::mypvit::Settings {
    server::providers::mypvit::Settings {
        mode: server::config::Mode::Test,
        allow_custom_host: false,
        base_url: "http://unused.invalid".into(),
        url_codes: server::providers::mypvit::UrlCodes {
            renew_secret: MYPVIT_URL_CODES[0].into(),
            rest: MYPVIT_URL_CODES[1].into(),
            status: MYPVIT_URL_CODES[2].into(),
        },
        operation_account_code: MYPVIT_ACCOUNT.into(),
        password: SecretString::from(MYPVIT_PASSWORD),
        reception_url_code: MYPVIT_URL_CODES[3].into(),
        callback_url_code: MYPVIT_URL_CODES[4].into(),
        webhook_token: SecretString::from(MYPVIT_TOKEN),
        allowed_ips: vec!["127.0.0.1".parse().expect("address")],
        owner_charge: server::providers::mypvit::wire::ChargeOwner::Merchant,
        operator_owner_charge: None,
        timeout_ms,
        renew_before_s: 300,
        secret_wait_ms: 5_000,
    }
}

impl TestApp {
    /// Creates a checkout of `amount` in `currency` for `country`; panics unless it is created.
    pub async fn create_checkout_in(
        &self,
        amount: u64,
        currency: &str,
        country: shared::phone::Country,
    ) -> Checkout {
        let reference = format!("order-{}", uuid::Uuid::new_v4());
        let (status, body) = self
            .create_checkout_raw(
                serde_json::json!({"amount": amount, "currency": currency, "reference": reference,
                    "description": "Test", "country": country}),
                self.merchant_key,
            )
            .await;
        assert_eq!(status, 201, "{body}");
        serde_json::from_value(body).expect("a checkout")
    }

    /// The payments the CaurisFlux sandbox holds (its inspection endpoint).
    pub async fn caurisflux_payments(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        self.http
            .get(format!("{}/_sandbox/payments", self.caurisflux_url))
            .send()
            .await?
            .json()
            .await
            .context("CaurisFlux sandbox listing")
    }

    /// The API requests the sandbox at `sandbox_url` received, and how many it answered 429
    /// (`GET /_sandbox/requests`).
    pub async fn sandbox_requests(&self, sandbox_url: &str) -> (u64, u64) {
        let counts: serde_json::Value = self
            .http
            .get(format!("{sandbox_url}/_sandbox/requests"))
            .send()
            .await
            .expect("sandbox reachable")
            .json()
            .await
            .expect("counts");
        let count = |name: &str| counts[name].as_u64().expect("a count");
        (count("api_requests"), count("too_many_requests"))
    }

    /// The transactions the MyPVit sandbox holds (its inspection endpoint).
    pub async fn mypvit_transactions(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        self.http
            .get(format!("{}/_sandbox/transactions", self.mypvit_url))
            .send()
            .await?
            .json()
            .await
            .context("MyPVit sandbox listing")
    }

    /// A checkout's history of state changes, as the merchant API returns it.
    pub async fn history(&self, id: &str) -> Vec<serde_json::Value> {
        self.http
            .get(format!("{}/v1/checkouts/{id}/history", self.url))
            .bearer_auth(self.merchant_key)
            .send()
            .await
            .expect("verifier reachable")
            .json()
            .await
            .expect("a history")
    }
}

/// Signs a webhook as CaurisFlux does: hex HMAC-SHA256 of `"<timestamp>.<body>"` with `secret`.
pub fn caurisflux_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    server::providers::caurisflux::sign(secret, timestamp, body)
}

/// Signs a body as NovaSend does, with `secret`.
pub fn novasend_signature(secret: &str, body: &[u8]) -> String {
    server::providers::novasend::sign(secret, body)
}

impl TestApp {
    /// Creates a checkout of `amount` euro cents for a customer with every detail Scalapay
    /// needs, coming back to `return_url`; panics unless it is created.
    pub async fn create_eur_checkout(&self, amount: u64, return_url: &str) -> Checkout {
        let body = serde_json::json!({
            "amount": amount,
            "currency": "EUR",
            "reference": format!("order-{}", uuid::Uuid::new_v4()),
            "description": "Pagne wax",
            "return_url": return_url,
            "customer": {
                "given_names": "Awa",
                "surname": "Koné",
                "email": "awa.kone@example.com",
                "phone": "+33612345678"
            }
        });
        let (status, body) = self.create_checkout_raw(body, self.merchant_key).await;
        assert_eq!(status, 201, "{body}");
        serde_json::from_value(body).expect("a checkout")
    }

    /// Posts the Scalapay sandbox's card form at `checkout_url` as the customer's browser does
    /// (without following the redirect); returns the status and the `Location` header.
    pub async fn pay_on_scalapay_page(&self, checkout_url: &str, card: &str) -> (u16, Option<String>) {
        let browser =
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        let r = browser
            .post(checkout_url)
            .form(&[("card_number", card), ("expiry", "12/39"), ("cvv", "123")])
            .send()
            .await
            .expect("sandbox reachable");
        let location = r.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
        (r.status().as_u16(), location)
    }

    /// The orders the Scalapay sandbox holds (its inspection endpoint).
    pub async fn scalapay_orders(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        self.http
            .get(format!("{}/_sandbox/orders", self.scalapay_url))
            .send()
            .await?
            .json()
            .await
            .context("sandbox listing")
    }
}

/// Signs a body as Scalapay does, with `api_key` and the timestamp `timestamp_ms`.
pub fn scalapay_signature(api_key: &str, timestamp_ms: &str, body: &[u8]) -> String {
    server::providers::scalapay::wire::sign(api_key, timestamp_ms, body)
}
