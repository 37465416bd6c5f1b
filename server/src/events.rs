//! Fan-out of "this checkout changed" to the SSE streams of this process.
//!
//! Subscribers re-read the checkout from the store on each notice, so a missed notice (a slow
//! subscriber lagging behind the channel) costs a re-read, never a wrong state. A PostgreSQL
//! backend with several instances will feed this hub from `LISTEN/NOTIFY`.

use tokio::sync::broadcast;

/// The hub: cheap to clone.
#[derive(Debug, Clone)]
pub struct Events {
    tx: broadcast::Sender<String>,
}

impl Events {
    /// A hub whose subscribers may lag `capacity` notices behind before they skip.
    pub fn new(capacity: usize) -> Events {
        let (tx, _) = broadcast::channel(capacity);
        Events { tx }
    }

    /// Tells every subscriber that `checkout_id` changed.
    pub fn changed(&self, checkout_id: &str) {
        // No subscriber is not an error: nobody is watching this checkout right now.
        let _ = self.tx.send(checkout_id.to_owned());
    }

    /// A receiver of changed checkout ids.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.tx.subscribe()
    }
}
