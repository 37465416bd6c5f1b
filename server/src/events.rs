//! Fan-out of "this checkout changed" to the SSE streams of this process, per checkout.
//!
//! Each SSE stream subscribes to one checkout id. The hub keeps one entry per watched id (a
//! [`tokio::sync::watch`] channel carrying the latest serialised public view), removed when the
//! last subscriber of that id goes away ([`Subscription`]'s drop guard). On
//! [`Events::changed`] the hub does nothing unless someone watches that id; otherwise the view
//! is read once and serialised once by the [`Source`], and the same `Arc<str>` goes to that id's
//! subscribers only: a stream never reads the database itself.
//!
//! **Order.** One reader per checkout at a time: a notice that arrives while a read is running
//! makes that reader read again when it ends, and values are published in the order their reads
//! started, so two quick changes never leave a subscriber on the older state. A new subscriber
//! asks the hub for a read too and takes as its first event the first value whose read started
//! after it subscribed (`seq`), so no change falls between its snapshot and its updates, and 500
//! streams opening at once on one checkout share a few reads.
//!
//! **Caps.** The hub counts its subscribers per checkout and in all, and refuses one over
//! [`Limits`] ([`Full`]): the SSE handler answers it with `503` and `Retry-After`, and the widget
//! polls instead. The stream's lifetime cap and its end after a final status are the handler's
//! (`routes::public`).
//!
//! The hub's input is only "checkout X changed": from this process's payment service, and,
//! with several instances on PostgreSQL, from the others through [`crate::signals`]
//! (`LISTEN/NOTIFY`, and [`Events::all_changed`] when signals may have been missed).

use std::{
    collections::HashMap,
    fmt::Display,
    future::Future,
    panic::AssertUnwindSafe,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures_util::{FutureExt, Stream, StreamExt, future};
use tokio::sync::watch;
use tokio_stream::wrappers::WatchStream;

/// What the hub reads when a watched checkout changed: its public view, serialised once (the
/// JSON text of an SSE `status` event's data).
pub trait Source: Clone + Send + Sync + 'static {
    /// Why a read failed (logged; the subscribers keep their last state).
    type Error: Display + Send;

    /// The checkout's current view, serialised.
    fn snapshot(&self, checkout_id: &str) -> impl Future<Output = Result<Arc<str>, Self::Error>> + Send;
}

/// The hub: cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Events {
    watched: Arc<Mutex<HashMap<Arc<str>, Watched>>>,
    /// Subscribers in all; changed only under `watched`'s lock.
    subscribers: Arc<AtomicUsize>,
    limits: Limits,
}

/// How many streams the hub serves, and for how long each may last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Subscribers of one checkout at most.
    pub per_checkout: usize,
    /// Subscribers in all at most.
    pub total: usize,
    /// How long one stream may stay open (enforced by the stream's handler).
    pub max_lifetime: Duration,
}

impl Default for Limits {
    /// No cap: for tests of the hub alone.
    fn default() -> Limits {
        Limits { per_checkout: usize::MAX, total: usize::MAX, max_lifetime: Duration::MAX }
    }
}

/// A subscription the hub refused: a cap of [`Limits`] is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Full {
    /// This checkout has `per_checkout` subscribers.
    #[error("too many status streams are open for this checkout")]
    Checkout,
    /// The hub has `total` subscribers.
    #[error("too many status streams are open")]
    Total,
}

/// One watched checkout.
#[derive(Debug)]
struct Watched {
    id: Arc<str>,
    tx: watch::Sender<Published>,
    subscribers: usize,
    /// The `seq` of the next read to start.
    next_seq: u64,
    /// A reader task runs for this checkout.
    reading: bool,
    /// A notice came while it ran: it reads again.
    again: bool,
}

/// The latest read of a watched checkout.
#[derive(Debug, Clone)]
struct Published {
    /// Reads are numbered in the order they start, from 1 (0: nothing read yet).
    seq: u64,
    /// The serialised view; `None` when that read failed.
    view: Option<Arc<str>>,
}

/// The first read after subscribing failed (the cause is logged).
#[derive(Debug, thiserror::Error)]
#[error("the checkout could not be read for its event stream")]
pub struct Unavailable;

impl Events {
    /// An empty hub without caps.
    pub fn new() -> Events {
        Events::default()
    }

    /// An empty hub that refuses subscribers over `limits`.
    pub fn with_limits(limits: Limits) -> Events {
        Events { limits, ..Events::default() }
    }

    /// Its caps.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Tells the subscribers of `checkout_id`, if any, that it changed: its view is read (once,
    /// by one task, from `source`) and sent to them. Nobody watching: nothing is read.
    pub fn changed<S: Source>(&self, checkout_id: &str, source: &S) {
        if let Some(w) = self.lock().get_mut(checkout_id) {
            self.request_read(w, source);
        }
    }

    /// Tells the subscribers of every watched checkout that it may have changed: each is read
    /// once (a value equal to the last one sent is skipped by its streams). For signals that
    /// may have been missed ([`crate::signals`]).
    pub fn all_changed<S: Source>(&self, source: &S) {
        for w in self.lock().values_mut() {
            self.request_read(w, source);
        }
    }

    /// Subscribes to `checkout_id` and asks for a read of its current state, the subscription's
    /// [`Subscription::snapshot`]; refused when a cap is reached (nothing is read then).
    pub fn subscribe<S: Source>(&self, checkout_id: &str, source: &S) -> Result<Subscription, Full> {
        let id: Arc<str> = Arc::from(checkout_id);
        let mut watched = self.lock();
        if self.subscribers.load(Ordering::Relaxed) >= self.limits.total {
            return Err(Full::Total);
        }
        if watched.get(checkout_id).is_some_and(|w| w.subscribers >= self.limits.per_checkout) {
            return Err(Full::Checkout);
        }
        let w = watched.entry(Arc::clone(&id)).or_insert_with(|| Watched {
            id: Arc::clone(&id),
            tx: watch::Sender::new(Published { seq: 0, view: None }),
            subscribers: 0,
            next_seq: 1,
            reading: false,
            again: false,
        });
        w.subscribers += 1;
        self.subscribers.fetch_add(1, Ordering::Relaxed);
        let subscription = Subscription {
            rx: w.tx.subscribe(),
            from_seq: w.next_seq,
            last: None,
            guard: Guard { events: self.clone(), id },
        };
        self.request_read(w, source);
        Ok(subscription)
    }

    /// How many checkouts have subscribers.
    pub fn watched(&self) -> usize {
        self.lock().len()
    }

    /// How many subscribers there are in all.
    pub fn subscribers(&self) -> usize {
        let _watched = self.lock();
        self.subscribers.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<str>, Watched>> {
        // Nothing panics while holding it; a poisoned map is still consistent.
        self.watched.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a reader for `id` unless one runs, which then reads again.
    fn request_read<S: Source>(&self, w: &mut Watched, source: &S) {
        if w.reading {
            w.again = true;
        } else {
            w.reading = true;
            tokio::spawn(self.clone().read(Arc::clone(&w.id), w.tx.clone(), source.clone()));
        }
    }

    /// The one reader of `id`: reads, publishes, and reads again while notices came meanwhile.
    /// It ends when its entry is gone (its last subscriber left), even in the middle.
    async fn read<S: Source>(self, id: Arc<str>, tx: watch::Sender<Published>, source: S) {
        loop {
            let seq = {
                let mut watched = self.lock();
                let Some(w) = watched.get_mut(&*id).filter(|w| w.tx.same_channel(&tx)) else { return };
                w.again = false;
                w.next_seq += 1;
                w.next_seq - 1
            };
            // A panicking source must not leave the entry marked as being read forever.
            let view = match AssertUnwindSafe(source.snapshot(&id)).catch_unwind().await {
                Ok(Ok(view)) => Some(view),
                Ok(Err(e)) => {
                    tracing::warn!(checkout = %id, error = %e, "could not read a checkout for its event streams");
                    None
                }
                Err(_) => {
                    tracing::error!(checkout = %id, "reading a checkout for its event streams panicked");
                    None
                }
            };
            let mut watched = self.lock();
            let Some(w) = watched.get_mut(&*id).filter(|w| w.tx.same_channel(&tx)) else { return };
            // Under the lock, so that values go out in the order their reads started.
            w.tx.send_replace(Published { seq, view });
            if !w.again {
                w.reading = false;
                return;
            }
        }
    }
}

/// One subscriber of one checkout; unsubscribes when dropped (with the stream it became).
#[derive(Debug)]
pub struct Subscription {
    rx: watch::Receiver<Published>,
    /// The first `seq` read after subscribing.
    from_seq: u64,
    /// The last view this subscriber got.
    last: Option<Arc<str>>,
    guard: Guard,
}

impl Subscription {
    /// The checkout's serialised view, read after subscribing.
    pub async fn snapshot(&mut self) -> Result<Arc<str>, Unavailable> {
        let from = self.from_seq;
        let first = self.rx.wait_for(|p| p.seq >= from).await.map_err(|_| Unavailable)?.view.clone();
        self.last = first.clone();
        first.ok_or(Unavailable)
    }

    /// The views published after [`Subscription::snapshot`], each different from the one before
    /// (another subscriber's first read publishes the same state again). A slow subscriber skips
    /// to the latest.
    pub fn updates(self) -> impl Stream<Item = Arc<str>> + Send + 'static {
        let Subscription { rx, from_seq, mut last, guard } = self;
        WatchStream::from_changes(rx).filter_map(move |p| {
            // The stream owns the guard: it unsubscribes when the stream is dropped.
            let _owned = &guard;
            let new = p.view.filter(|v| p.seq >= from_seq && last.as_deref() != Some(&**v));
            if new.is_some() {
                last.clone_from(&new);
            }
            future::ready(new)
        })
    }
}

/// Counts a subscriber; the last one to go removes its checkout's entry.
#[derive(Debug)]
struct Guard {
    events: Events,
    id: Arc<str>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let mut watched = self.events.lock();
        if let Some(w) = watched.get_mut(&*self.id) {
            self.events.subscribers.fetch_sub(1, Ordering::Relaxed);
            w.subscribers -= 1;
            if w.subscribers == 0 {
                watched.remove(&*self.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The hub against a counting source whose state the test moves.

    use std::time::Duration;

    use tokio::sync::Semaphore;

    use super::*;

    /// A checkout's state as a counter the test moves; every read is counted, and a read can be
    /// held at its start until the test releases it.
    #[derive(Clone)]
    struct Counting {
        state: Arc<Mutex<HashMap<String, u32>>>,
        reads: Arc<watch::Sender<usize>>,
        gate: Option<Arc<Semaphore>>,
    }

    impl Default for Counting {
        fn default() -> Counting {
            Counting { state: Arc::default(), reads: Arc::new(watch::Sender::new(0)), gate: None }
        }
    }

    impl Counting {
        fn set(&self, id: &str, v: u32) {
            self.state.lock().unwrap().insert(id.to_owned(), v);
        }
        fn reads(&self) -> usize {
            *self.reads.borrow()
        }
        /// Waits until `n` reads have started.
        async fn started(&self, n: usize) {
            let mut rx = self.reads.subscribe();
            tokio::time::timeout(DEADLINE, rx.wait_for(|r| *r >= n)).await.unwrap().unwrap();
        }
    }

    impl Source for Counting {
        type Error = &'static str;

        async fn snapshot(&self, checkout_id: &str) -> Result<Arc<str>, &'static str> {
            self.reads.send_modify(|r| *r += 1);
            if let Some(gate) = &self.gate {
                gate.acquire().await.map_err(|_| "closed")?.forget();
            }
            let v = self.state.lock().unwrap().get(checkout_id).copied().ok_or("no such checkout")?;
            Ok(Arc::from(format!("{{\"v\":{v}}}")))
        }
    }

    const DEADLINE: Duration = Duration::from_secs(5);

    async fn next(s: &mut (impl Stream<Item = Arc<str>> + Unpin)) -> String {
        tokio::time::timeout(DEADLINE, s.next())
            .await
            .expect("an event before the deadline")
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn a_change_is_read_once_and_reaches_only_that_checkouts_subscribers() {
        let events = Events::new();
        let source = Counting::default();
        source.set("co_a", 1);
        source.set("co_b", 7);
        let mut subs = Vec::new();
        for _ in 0..50 {
            let mut sub = events.subscribe("co_a", &source).unwrap();
            assert_eq!(&*sub.snapshot().await.unwrap(), r#"{"v":1}"#);
            subs.push(sub.updates().boxed());
        }
        let mut other = events.subscribe("co_b", &source).unwrap();
        assert_eq!(&*other.snapshot().await.unwrap(), r#"{"v":7}"#);
        let mut other = other.updates().boxed();
        assert_eq!(events.watched(), 2);

        let before = source.reads();
        source.set("co_a", 2);
        events.changed("co_a", &source);
        for s in &mut subs {
            assert_eq!(next(s).await, r#"{"v":2}"#);
        }
        assert_eq!(source.reads() - before, 1, "one read for 50 subscribers");
        // The other checkout's subscriber got nothing.
        assert!(futures_util::poll!(other.next()).is_pending());
        // Nobody watches co_c: nothing is read.
        events.changed("co_c", &source);
        assert_eq!(source.reads() - before, 1);
    }

    #[tokio::test]
    async fn the_map_is_empty_once_every_subscriber_left() {
        let events = Events::new();
        let source = Counting::default();
        source.set("co_a", 1);
        source.set("co_b", 1);
        let mut a1 = events.subscribe("co_a", &source).unwrap();
        a1.snapshot().await.unwrap();
        let a1 = a1.updates();
        let a2 = events.subscribe("co_a", &source).unwrap();
        let b = events.subscribe("co_b", &source).unwrap();
        assert_eq!(events.watched(), 2);
        drop(a1);
        assert_eq!(events.watched(), 2, "co_a still has a subscriber");
        drop(b);
        assert_eq!(events.watched(), 1);
        drop(a2);
        assert_eq!(events.watched(), 0);
        // A change of an unwatched checkout neither reads nor brings the entry back.
        let reads = source.reads();
        events.changed("co_a", &source);
        assert_eq!((events.watched(), source.reads()), (0, reads));
    }

    /// Two changes while a read is held: the reader reads again after it, and the subscriber
    /// ends on the latest state, never the older one.
    #[tokio::test]
    async fn quick_changes_coalesce_and_end_on_the_latest_state() {
        let gate = Arc::new(Semaphore::new(1));
        let source = Counting { gate: Some(gate.clone()), ..Counting::default() };
        let events = Events::new();
        source.set("co_a", 1);
        let mut sub = events.subscribe("co_a", &source).unwrap();
        assert_eq!(&*sub.snapshot().await.unwrap(), r#"{"v":1}"#);
        let mut updates = sub.updates().boxed();

        // The next read is held at its start: it will see state 3.
        source.set("co_a", 2);
        events.changed("co_a", &source);
        source.started(2).await;
        source.set("co_a", 3);
        events.changed("co_a", &source);
        events.changed("co_a", &source);
        gate.add_permits(2);
        let mut last = next(&mut updates).await;
        if last != r#"{"v":3}"# {
            last = next(&mut updates).await;
        }
        assert_eq!(last, r#"{"v":3}"#);
        // Two reads for three notices: the two during the first read became one.
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while events.lock().get("co_a").is_some_and(|w| w.reading) {
            assert!(tokio::time::Instant::now() < deadline, "the reader never ended");
            tokio::task::yield_now().await;
        }
        assert_eq!(source.reads(), 3, "the snapshot's read, then two");
    }

    /// A subscriber arriving while an older read runs does not take that read as its snapshot.
    #[tokio::test]
    async fn a_snapshot_is_read_after_subscribing() {
        let gate = Arc::new(Semaphore::new(0));
        let source = Counting { gate: Some(gate.clone()), ..Counting::default() };
        let events = Events::new();
        source.set("co_a", 1);
        let mut first = events.subscribe("co_a", &source).unwrap();
        source.started(1).await;
        // The first read is held; a second subscriber arrives.
        let mut second = events.subscribe("co_a", &source).unwrap();
        gate.add_permits(1);
        assert_eq!(&*first.snapshot().await.unwrap(), r#"{"v":1}"#);
        source.set("co_a", 2);
        gate.add_permits(1);
        assert_eq!(&*second.snapshot().await.unwrap(), r#"{"v":2}"#);
        assert_eq!(source.reads(), 2);
    }

    #[tokio::test]
    async fn subscribers_over_a_cap_are_refused_until_one_leaves() {
        let events = Events::with_limits(Limits { per_checkout: 2, total: 3, max_lifetime: Duration::MAX });
        let source = Counting::default();
        source.set("co_a", 1);
        source.set("co_b", 1);
        let a1 = events.subscribe("co_a", &source).unwrap();
        let mut a2 = events.subscribe("co_a", &source).unwrap();
        a2.snapshot().await.unwrap();
        let a2 = a2.updates();
        assert_eq!(events.subscribe("co_a", &source).unwrap_err(), Full::Checkout);
        let b1 = events.subscribe("co_b", &source).unwrap();
        assert_eq!(events.subscribe("co_b", &source).unwrap_err(), Full::Total);
        assert_eq!(events.subscribers(), 3);
        // A subscription or a stream that goes away frees its place.
        drop(a1);
        let b2 = events.subscribe("co_b", &source).unwrap();
        assert_eq!(events.subscribe("co_b", &source).unwrap_err(), Full::Total);
        drop(a2);
        assert_eq!(events.subscribers(), 2);
        drop((b1, b2));
        assert_eq!((events.subscribers(), events.watched()), (0, 0));
    }

    #[tokio::test]
    async fn all_changed_reads_each_watched_checkout_once_and_sends_only_what_changed() {
        let events = Events::new();
        let source = Counting::default();
        source.set("co_a", 1);
        source.set("co_b", 1);
        let mut a = events.subscribe("co_a", &source).unwrap();
        a.snapshot().await.unwrap();
        let mut a = a.updates().boxed();
        let mut b = events.subscribe("co_b", &source).unwrap();
        b.snapshot().await.unwrap();
        let mut b = b.updates().boxed();
        let before = source.reads();
        source.set("co_b", 2);
        events.all_changed(&source);
        assert_eq!(next(&mut b).await, r#"{"v":2}"#);
        source.started(before + 2).await;
        assert_eq!(source.reads() - before, 2, "one read per watched checkout");
        // co_a did not change: its stream sends nothing.
        source.set("co_a", 3);
        events.changed("co_a", &source);
        assert_eq!(next(&mut a).await, r#"{"v":3}"#, "the next value is the change, not a repeat");
    }

    #[tokio::test]
    async fn a_failed_first_read_is_an_error_not_a_hang() {
        let events = Events::new();
        let source = Counting::default();
        let mut sub = events.subscribe("co_missing", &source).unwrap();
        assert!(tokio::time::timeout(DEADLINE, sub.snapshot()).await.unwrap().is_err());
        drop(sub);
        assert_eq!(events.watched(), 0);
    }
}
