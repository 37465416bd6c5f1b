//! Stopping the background work at a safe point. On Ctrl-C or SIGTERM the accept loop stops
//! taking connections and lets the requests in flight finish ([`crate::serve`]); then every
//! worker (reconciler, inbox, merchant webhooks, retention, refused-notice tally) is asked to
//! stop and ends between two items of work, never in the middle of one: the batch of status
//! fetches, notifications or deliveries it holds is finished and recorded, and the refused-notice
//! tally is written one last time. A worker still busy after [`WORKERS_GRACE`] is dropped (its
//! items are leased in the database and taken again by the next start, as after a crash).

use std::time::Duration;

use tokio::sync::watch;

/// How long the workers get to reach a safe point once asked to stop.
pub const WORKERS_GRACE: Duration = Duration::from_secs(10);

/// Asks the workers holding its [`Stop`]s to stop.
#[derive(Debug)]
pub struct Trigger(watch::Sender<bool>);

impl Trigger {
    /// Asks every [`Stop`] of this trigger to stop.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

/// A worker's view of the stop request; clones see the same request.
#[derive(Debug, Clone)]
pub struct Stop(watch::Receiver<bool>);

/// A trigger and the stop its workers watch.
pub fn channel() -> (Trigger, Stop) {
    let (tx, rx) = watch::channel(false);
    (Trigger(tx), Stop(rx))
}

impl Stop {
    /// Whether a stop was asked.
    pub fn requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits until a stop is asked (forever, if its trigger is dropped unused).
    pub async fn wait(&mut self) {
        while !*self.0.borrow_and_update() {
            if self.0.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Sleeps `duration` unless a stop is asked first; returns whether one was asked.
    pub async fn sleep(&mut self, duration: Duration) -> bool {
        if self.requested() {
            return true;
        }
        let stopped = tokio::select! {
            () = tokio::time::sleep(duration) => false,
            () = self.wait() => true,
        };
        stopped || self.requested()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_sleep_ends_early_when_a_stop_is_asked_and_a_dropped_trigger_never_stops() {
        let (trigger, mut stop) = channel();
        assert!(!stop.sleep(Duration::from_secs(1)).await, "slept its whole time");
        let waiting = tokio::spawn({
            let mut stop = stop.clone();
            async move { stop.sleep(Duration::from_secs(3600)).await }
        });
        tokio::time::sleep(Duration::from_secs(5)).await;
        trigger.stop();
        assert!(waiting.await.unwrap(), "woken by the stop");
        assert!(stop.requested() && stop.sleep(Duration::from_secs(3600)).await);

        let (dropped, mut never) = channel();
        drop(dropped);
        let start = tokio::time::Instant::now();
        assert!(!never.sleep(Duration::from_secs(7)).await);
        assert_eq!(start.elapsed(), Duration::from_secs(7));
    }
}
