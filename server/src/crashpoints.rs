//! Named points in the payment path where tests kill the process (SIGKILL) to prove that no
//! state change is lost and nothing is done twice after a restart on the same database.
//!
//! The points are [`fail::fail_point!`]s, compiled in only with the `failpoints` feature (the
//! e2e tests' `verifier-crashable` example enables it); in the service they compile to nothing.
//! [`arm_from_env`] reads `VERIFIER_CRASH_AT` (one point name): when the process reaches it, it
//! prints `crashpoint reached: <name>` on stderr and stops that thread for good, so the test
//! sees exactly where the process is and kills it there.
//!
//! The points, in a payment's order:
//! - `pay.attempt_stored`: the attempt is stored, the provider not yet called;
//! - `pay.provider_answered`: the provider took the payment, its answer is not yet applied;
//! - `attempt.state_committed`: a provider's word is committed, watchers not yet told;
//! - `inbox.before_processing`: a provider notification is stored and acknowledged, not yet
//!   applied;
//! - `inbox.processed`: a notification is processed: its update applied and the notification
//!   marked processed in one transaction, or a status fetched and the notification not yet
//!   marked;
//! - `outbox.sent_unrecorded`: the merchant's endpoint accepted an event, its delivery is not
//!   yet recorded.

/// The names [`arm_from_env`] accepts.
pub const POINTS: &[&str] = &[
    "pay.attempt_stored",
    "pay.provider_answered",
    "attempt.state_committed",
    "inbox.before_processing",
    "inbox.processed",
    "outbox.sent_unrecorded",
];

/// The marker printed on stderr when an armed point is reached.
pub const REACHED: &str = "crashpoint reached: ";

/// Arms the point named by `VERIFIER_CRASH_AT`, if any. Returns the armed name; an unknown
/// name is an error (a typo would make a test pass without crashing anywhere).
#[cfg(feature = "failpoints")]
pub fn arm_from_env() -> anyhow::Result<Option<&'static str>> {
    let Ok(wanted) = std::env::var("VERIFIER_CRASH_AT") else { return Ok(None) };
    let name = POINTS
        .iter()
        .copied()
        .find(|p| *p == wanted)
        .ok_or_else(|| anyhow::anyhow!("unknown crash point {wanted:?}; known: {POINTS:?}"))?;
    fail::cfg_callback(name, move || {
        eprintln!("{REACHED}{name}");
        // Hold this thread (and the request or task on it) where it is until the test kills
        // the process.
        loop {
            std::thread::park();
        }
    })
    .map_err(|e| anyhow::anyhow!("arming {name}: {e}"))?;
    Ok(Some(name))
}
