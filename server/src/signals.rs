//! Signals between the verifier's parts, and between verifier instances sharing one database:
//! "checkout X changed" (feeds the SSE hub, [`crate::events`]) and "a notification was stored"
//! (wakes the inbox worker, [`crate::inbox`]).
//!
//! The code that changes a checkout or stores a notification tells its own process first
//! (the hub, the worker's wake-up), then [`Signals`], whose backend tells the other instances:
//!
//! - **In process** ([`Signals::in_process`], the SQLite store, one instance): nothing more to
//!   tell; what the verifier did before signals existed.
//! - **PostgreSQL** ([`Signals::postgres`]): `pg_notify` on [`CHECKOUT_CHANNEL`] (payload:
//!   this instance's id, a space, the checkout id) or [`INBOX_CHANNEL`], sent after the change
//!   committed, and a [`PgListener`] on every instance that feeds what the *other* instances
//!   sent to its [`Receiver`] (its own hub and worker; its own notices it already handled).
//!   PostgreSQL delivers a notification to the sessions listening when it is sent
//!   (<https://www.postgresql.org/docs/15/sql-notify.html>): one sent while the listener's
//!   connection is down is lost. So when the listener (re)connects, every watched checkout is
//!   read once and the inbox polled ([`Receiver::reread_watched`],
//!   [`Receiver::notification_stored`]), and every [`REREAD_EVERY`] the watched checkouts are
//!   read again (the inbox worker polls on its own every second): a lost notification only
//!   delays.

use std::{fmt, sync::Arc, time::Duration};

use sqlx::{PgPool, postgres::PgListener};

/// The channel of "checkout X changed".
pub const CHECKOUT_CHANNEL: &str = "verifier_checkout_changed";
/// The channel of "a provider notification was stored".
pub const INBOX_CHANNEL: &str = "verifier_notification_stored";
/// How often an instance on PostgreSQL reads its watched checkouts again, notified or not.
pub const REREAD_EVERY: Duration = Duration::from_secs(2);
/// The longest wait before connecting the listener again after a failure.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What an instance does with the signals of the others (the payment service: its hub and its
/// inbox worker).
pub trait Receiver: Send + Sync + 'static {
    /// Checkout `checkout_id` changed: its watchers are told.
    fn checkout_changed(&self, checkout_id: &str);
    /// A notification was stored: the inbox worker wakes.
    fn notification_stored(&self);
    /// Signals may have been missed: every watched checkout is read once.
    fn reread_watched(&self);
}

/// Tells the other instances; cheap to clone.
#[derive(Clone)]
pub struct Signals {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    InProcess,
    Postgres(Arc<Postgres>),
}

struct Postgres {
    pool: PgPool,
    /// This instance's id in its notices' payloads (its own are skipped by its listener).
    instance: String,
    reread_every: Duration,
}

impl fmt::Debug for Signals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.backend {
            Backend::InProcess => f.write_str("Signals::InProcess"),
            Backend::Postgres(pg) => write!(f, "Signals::Postgres({})", pg.instance),
        }
    }
}

impl Default for Signals {
    fn default() -> Signals {
        Signals::in_process()
    }
}

impl Signals {
    /// One instance: the process already told itself; nothing crosses.
    pub fn in_process() -> Signals {
        Signals { backend: Backend::InProcess }
    }

    /// Several instances on one PostgreSQL database: notices through `pool` (whose listener
    /// holds one of its connections while [`Signals::run`] runs).
    pub fn postgres(pool: PgPool) -> Signals {
        Signals {
            backend: Backend::Postgres(Arc::new(Postgres {
                pool,
                instance: hex::encode(rand::random::<[u8; 6]>()),
                reread_every: REREAD_EVERY,
            })),
        }
    }

    /// The backend for the store at `database_url`: PostgreSQL for `postgres://` or
    /// `postgresql://` (a pool of its own, connected when first used, of two connections: the
    /// listener's and one to send), in process otherwise.
    pub fn for_database_url(database_url: &str) -> Result<Signals, sqlx::Error> {
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Ok(Signals::in_process());
        }
        let pool = sqlx::postgres::PgPoolOptions::new().max_connections(2).connect_lazy(database_url)?;
        Ok(Signals::postgres(pool))
    }

    /// The same signals, reading the watched checkouts again every `every` (tests).
    pub fn reread_every(self, every: Duration) -> Signals {
        match self.backend {
            Backend::Postgres(pg) => Signals {
                backend: Backend::Postgres(Arc::new(Postgres {
                    pool: pg.pool.clone(),
                    instance: pg.instance.clone(),
                    reread_every: every,
                })),
            },
            in_process => Signals { backend: in_process },
        }
    }

    /// Tells the other instances that `checkout_id` changed (after the change committed); a
    /// failure is logged, the others' periodic re-read catches up.
    pub fn checkout_changed(&self, checkout_id: &str) {
        if let Backend::Postgres(pg) = &self.backend {
            let (pg, id) = (Arc::clone(pg), checkout_id.to_owned());
            tokio::spawn(async move {
                if let Err(e) = pg.send(CHECKOUT_CHANNEL, &id).await {
                    tracing::warn!(checkout = %id, error = %e, "could not signal a checkout's change to the other instances");
                }
            });
        }
    }

    /// Tells the other instances' inbox workers that a notification was stored.
    pub fn notification_stored(&self) {
        if let Backend::Postgres(pg) = &self.backend {
            let pg = Arc::clone(pg);
            tokio::spawn(async move {
                if let Err(e) = pg.send(INBOX_CHANNEL, "").await {
                    tracing::warn!(error = %e, "could not signal a stored notification to the other instances");
                }
            });
        }
    }

    /// [`Signals::checkout_changed`], awaited: sent when it returns.
    pub async fn send_checkout_changed(&self, checkout_id: &str) -> Result<(), sqlx::Error> {
        match &self.backend {
            Backend::Postgres(pg) => pg.send(CHECKOUT_CHANNEL, checkout_id).await,
            Backend::InProcess => Ok(()),
        }
    }

    /// Feeds `receiver` with the other instances' signals until the task is dropped (returns at
    /// once in process: nothing comes from elsewhere).
    pub async fn run(self, receiver: impl Receiver) {
        let Backend::Postgres(pg) = self.backend else { return };
        let receiver = Arc::new(receiver);
        let periodic = {
            let (receiver, every) = (Arc::clone(&receiver), pg.reread_every);
            async move {
                let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    receiver.reread_watched();
                }
            }
        };
        tokio::join!(pg.listen(&*receiver), periodic);
    }
}

impl Postgres {
    async fn send(&self, channel: &str, checkout_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(format!("{} {checkout_id}", self.instance))
            .execute(&self.pool)
            .await
            .map(drop)
    }

    /// Listens forever: connects (again after a failure, backing off), and after every
    /// (re)connection makes the receiver catch up on what it may have missed.
    async fn listen(&self, receiver: &impl Receiver) {
        let mut backoff = Duration::from_millis(100);
        loop {
            let mut listener = match self.connect().await {
                Ok(listener) => listener,
                Err(e) => {
                    tracing::warn!(error = %e, "could not listen for the other instances' signals; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            };
            backoff = Duration::from_millis(100);
            tracing::debug!(instance = %self.instance, "listening for the other instances' signals");
            catch_up(receiver);
            loop {
                match listener.try_recv().await {
                    Ok(Some(n)) => self.dispatch(n.channel(), n.payload(), receiver),
                    // The connection was lost and made again (listening again): whatever was
                    // sent meanwhile is lost, so everything is read again.
                    Ok(None) => {
                        tracing::info!("the signal listener's connection was lost and made again");
                        catch_up(receiver);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the signal listener failed; connecting again");
                        break;
                    }
                }
            }
        }
    }

    async fn connect(&self) -> Result<PgListener, sqlx::Error> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen_all([CHECKOUT_CHANNEL, INBOX_CHANNEL]).await?;
        Ok(listener)
    }

    fn dispatch(&self, channel: &str, payload: &str, receiver: &impl Receiver) {
        let (from, what) = payload.split_once(' ').unwrap_or((payload, ""));
        if from == self.instance {
            return;
        }
        match channel {
            CHECKOUT_CHANNEL if !what.is_empty() => receiver.checkout_changed(what),
            INBOX_CHANNEL => receiver.notification_stored(),
            _ => tracing::debug!(channel, "an unexpected signal was ignored"),
        }
    }
}

fn catch_up(receiver: &impl Receiver) {
    receiver.reread_watched();
    receiver.notification_stored();
}

#[cfg(test)]
mod tests {
    //! The PostgreSQL backend against a real database (a new one beside `TEST_DATABASE_URL`'s
    //! for each test, as notifications stay within a database; skipped with a printed line
    //! without one): two instances, each with its own pool, as two processes.

    use sqlx::{
        Connection, PgConnection,
        postgres::{PgConnectOptions, PgPoolOptions},
    };
    use tokio::sync::mpsc;

    use super::*;

    #[derive(Debug, PartialEq, Eq)]
    enum Seen {
        Changed(String),
        Stored,
        Reread,
    }

    struct Recorder(mpsc::UnboundedSender<Seen>);

    impl Receiver for Recorder {
        fn checkout_changed(&self, checkout_id: &str) {
            let _ = self.0.send(Seen::Changed(checkout_id.to_owned()));
        }
        fn notification_stored(&self) {
            let _ = self.0.send(Seen::Stored);
        }
        fn reread_watched(&self) {
            let _ = self.0.send(Seen::Reread);
        }
    }

    const DEADLINE: Duration = Duration::from_secs(10);

    /// A database of this test's own.
    struct Database {
        admin: PgConnectOptions,
        name: String,
    }

    impl Database {
        async fn create() -> Option<Database> {
            let Some(url) = std::env::var("TEST_DATABASE_URL").ok().filter(|u| u.starts_with("postgres"))
            else {
                println!("skipped: TEST_DATABASE_URL names no PostgreSQL database");
                return None;
            };
            let admin: PgConnectOptions = url.parse().unwrap();
            let name = format!("signals_{}", hex::encode(rand::random::<[u8; 6]>()));
            let mut conn = PgConnection::connect_with(&admin).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
            Some(Database { admin, name })
        }

        async fn pool(&self, application: &str) -> PgPool {
            let options = self.admin.clone().database(&self.name).application_name(application);
            PgPoolOptions::new().max_connections(3).connect_with(options).await.unwrap()
        }

        async fn drop(self) {
            let mut conn = PgConnection::connect_with(&self.admin).await.unwrap();
            let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            sqlx::query(&drop).execute(&mut conn).await.unwrap();
        }
    }

    async fn next(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
        tokio::time::timeout(DEADLINE, rx.recv()).await.expect("a signal before the deadline").unwrap()
    }

    /// Starts an instance's listener; returns once it listens (its first catch-up seen).
    async fn instance(signals: &Signals) -> (mpsc::UnboundedReceiver<Seen>, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(signals.clone().run(Recorder(tx)));
        assert_eq!(next(&mut rx).await, Seen::Reread);
        assert_eq!(next(&mut rx).await, Seen::Stored);
        (rx, task)
    }

    fn app_name(what: &str) -> String {
        format!("signals-test-{what}-{}", hex::encode(rand::random::<[u8; 3]>()))
    }

    #[tokio::test]
    async fn a_change_signalled_by_one_instance_reaches_the_others_not_itself() {
        let Some(db) = Database::create().await else { return };
        let a = Signals::postgres(db.pool(&app_name("a")).await).reread_every(Duration::from_secs(3600));
        let b = Signals::postgres(db.pool(&app_name("b")).await).reread_every(Duration::from_secs(3600));
        let (mut seen_a, task_a) = instance(&a).await;
        let (mut seen_b, task_b) = instance(&b).await;

        a.send_checkout_changed("co_from_a").await.unwrap();
        assert_eq!(next(&mut seen_b).await, Seen::Changed("co_from_a".into()));
        b.send_checkout_changed("co_from_b").await.unwrap();
        // PostgreSQL delivers one session's notifications in the order they were sent, A's
        // before B's: had A not skipped its own, it would come first.
        assert_eq!(next(&mut seen_a).await, Seen::Changed("co_from_b".into()));

        b.notification_stored();
        assert_eq!(next(&mut seen_a).await, Seen::Stored);
        task_a.abort();
        task_b.abort();
        db.drop().await;
    }

    #[tokio::test]
    async fn after_its_connection_is_killed_the_listener_reads_everything_again_and_hears_new_changes() {
        let Some(db) = Database::create().await else { return };
        let a = Signals::postgres(db.pool(&app_name("a")).await).reread_every(Duration::from_secs(3600));
        let b_name = app_name("b");
        let b = Signals::postgres(db.pool(&b_name).await).reread_every(Duration::from_secs(3600));
        let (_seen_a, task_a) = instance(&a).await;
        let (mut seen_b, task_b) = instance(&b).await;

        let admin = db.pool(&app_name("admin")).await;
        let killed: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
        )
        .bind(&b_name)
        .fetch_all(&admin)
        .await
        .unwrap();
        assert!(!killed.is_empty() && killed.iter().all(|k| *k), "B's connections were terminated");

        // B notices, connects again and catches up: whatever was sent meanwhile is read again.
        assert_eq!(next(&mut seen_b).await, Seen::Reread);
        assert_eq!(next(&mut seen_b).await, Seen::Stored);
        a.send_checkout_changed("co_after_kill").await.unwrap();
        assert_eq!(next(&mut seen_b).await, Seen::Changed("co_after_kill".into()));
        task_a.abort();
        task_b.abort();
        db.drop().await;
    }

    #[tokio::test]
    async fn watched_checkouts_are_read_again_periodically() {
        let Some(db) = Database::create().await else { return };
        let a = Signals::postgres(db.pool(&app_name("a")).await).reread_every(Duration::from_millis(200));
        let (mut seen, task) = instance(&a).await;
        // Nothing is sent, and still the watched checkouts are read again.
        assert_eq!(next(&mut seen).await, Seen::Reread);
        assert_eq!(next(&mut seen).await, Seen::Reread);
        task.abort();
        db.drop().await;
    }

    #[tokio::test]
    async fn in_process_signals_cross_nothing() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let signals = Signals::in_process();
        signals.checkout_changed("co_1");
        signals.notification_stored();
        // `run` returns at once: there is nothing to listen to.
        tokio::time::timeout(DEADLINE, signals.run(Recorder(tx))).await.unwrap();
        assert!(rx.recv().await.is_none(), "nothing was received");
    }
}
