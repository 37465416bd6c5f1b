//! Group commit: one task owns the database's one write connection and runs every write.
//!
//! Callers hand it a job (a closure over the connection) and await their own result. The
//! writer takes every job waiting when it wakes, up to [`MAX_BATCH`], and runs them in **one**
//! `BEGIN IMMEDIATE` transaction, each inside its own `SAVEPOINT` so that a job that fails
//! (a conflict, a refused rule) is undone alone; then one `COMMIT`, so one fsync, for the whole
//! batch. Only after the commit returns does any caller get its result: a write acknowledged is
//! a write on disk (`synchronous = FULL`), exactly as with one transaction per write, but a
//! busy verifier pays one fsync per batch instead of one per request, and no two connections
//! ever fight over the write lock (`busy_timeout`).
//!
//! The idea is SQLite's own advice for many small writes: batch them in one transaction
//! (<https://www.sqlite.org/faq.html#q19>); savepoints nest inside it
//! (<https://www.sqlite.org/lang_savepoint.html>).
//!
//! **Cancellation:** a job runs in the writer's task, never in the caller's. A request that is
//! dropped (a client that hung up) drops only its wait for the answer; the job it sent still
//! runs to the end and the connection is never left inside a half-done transaction.
//!
//! **Priority:** payment updates a provider reported (webhooks, fetched statuses) go in the
//! urgent lane, which the writer empties first: they are what finishes customers' payments,
//! and a flood of new checkouts must not hold them back.

use std::panic::AssertUnwindSafe;

use futures_util::{FutureExt, future::BoxFuture};
use sqlx::{Connection, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use crate::store::StoreError;

/// Most jobs committed together: bounds one transaction's size and the wait of its first job.
const MAX_BATCH: usize = 256;
/// Jobs that may wait in each lane before senders wait for room (back-pressure).
const QUEUE: usize = 4096;

/// What a job hands back once it ran: whether it succeeded (its savepoint is kept), and how to
/// answer its caller once the batch's commit is known.
type Ran = (bool, Box<dyn FnOnce(Result<(), String>) + Send>);
/// A write, type-erased.
type Job = Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Ran> + Send>;

/// Which lane a write takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lane {
    /// Provider-reported payment state: first.
    Urgent,
    /// Everything else.
    Normal,
}

/// The handle callers send jobs through: cheap to clone.
#[derive(Debug, Clone)]
pub(super) struct Writer {
    urgent: mpsc::Sender<Job>,
    normal: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer task on `conn`; it ends when every handle is dropped.
    pub(super) fn spawn(conn: SqliteConnection) -> Writer {
        let (urgent, urgent_rx) = mpsc::channel(QUEUE);
        let (normal, normal_rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(conn, urgent_rx, normal_rx));
        Writer { urgent, normal }
    }

    /// Runs `job` in the next batch and returns its result once that batch is committed.
    /// An error from `job` undoes its own writes only.
    pub(super) async fn run<T, F>(&self, lane: Lane, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, StoreError>> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<T, StoreError>>();
        let erased: Job = Box::new(move |conn| {
            Box::pin(async move {
                let result = job(conn).await;
                let ok = result.is_ok();
                let reply: Box<dyn FnOnce(Result<(), String>) + Send> = Box::new(move |commit| {
                    let out = match commit {
                        // A failed job was undone alone: its own error is the answer.
                        Ok(()) => result,
                        Err(e) if ok => {
                            Err(StoreError::Other(anyhow::anyhow!("the write was not committed: {e}")))
                        }
                        Err(_) => result,
                    };
                    // The caller may have gone (a client hung up): the write stands regardless.
                    let _ = answer.send(out);
                });
                (ok, reply)
            })
        });
        let queue = match lane {
            Lane::Urgent => &self.urgent,
            Lane::Normal => &self.normal,
        };
        queue.send(erased).await.map_err(|_| gone())?;
        answered.await.map_err(|_| gone())?
    }
}

fn gone() -> StoreError {
    StoreError::Other(anyhow::anyhow!("the database writer has stopped"))
}

async fn run(mut conn: SqliteConnection, mut urgent: mpsc::Receiver<Job>, mut normal: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    loop {
        // Wait for the first job, urgent ones first.
        let (first, urgent_batch) = tokio::select! {
            biased;
            Some(job) = urgent.recv() => (job, true),
            Some(job) = normal.recv() => (job, false),
            else => break,
        };
        batch.push(first);
        // Then the urgent jobs waiting; only when there are none, the others. A batch of
        // urgent jobs is kept short, so a provider's update waits at most for the batch being
        // committed and its own, never behind a flood of new checkouts.
        while batch.len() < MAX_BATCH {
            match urgent.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let urgent_batch = urgent_batch || batch.len() > 1;
        while !urgent_batch && batch.len() < MAX_BATCH {
            match normal.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(&mut conn, &mut batch).await;
    }
    // Every handle is gone: close the connection cleanly (checkpoints the WAL if last).
    let _ = conn.close().await;
}

/// Runs one batch in one transaction and answers every job after its commit.
async fn commit_batch(conn: &mut SqliteConnection, batch: &mut Vec<Job>) {
    let jobs = std::mem::take(batch);
    let mut replies = Vec::with_capacity(jobs.len());
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE").await {
        // Nothing ran: every job learns the transaction could not start.
        for job in jobs {
            fail_unrun(job, &e);
        }
        return;
    }
    // One job alone needs no savepoint: a failure rolls the transaction back.
    let alone = jobs.len() == 1;
    let mut broken: Option<String> = None;
    for job in jobs {
        if let Some(e) = &broken {
            fail_unrun(job, e);
            continue;
        }
        if !alone && let Err(e) = exec(conn, "SAVEPOINT job").await {
            broken = Some(e.clone());
            fail_unrun(job, &e);
            continue;
        }
        // A job that panics must not take the writer (and every later write) with it; what
        // it did to the transaction is unknown, so the batch is given up.
        let (ok, reply) = match AssertUnwindSafe(job(conn)).catch_unwind().await {
            Ok(ran) => ran,
            Err(_) => {
                broken = Some("a write panicked".to_owned());
                continue;
            }
        };
        let end = match (alone, ok) {
            (true, _) => Ok(()),
            (false, true) => exec(conn, "RELEASE job").await,
            (false, false) => match exec(conn, "ROLLBACK TO job").await {
                Ok(()) => exec(conn, "RELEASE job").await,
                Err(e) => Err(e),
            },
        };
        if let Err(e) = end {
            broken = Some(e);
        }
        replies.push((ok, reply));
    }
    let all_failed_alone = alone && replies.first().is_some_and(|(ok, _)| !ok);
    let outcome = match &broken {
        Some(e) => Err(e.clone()),
        None if all_failed_alone => exec(conn, "ROLLBACK").await,
        None => exec(conn, "COMMIT").await,
    };
    if let Err(e) = &outcome {
        tracing::error!(error = %e, jobs = replies.len(), "a batch of writes could not be committed");
        // Leave no transaction open whatever happened; an error here means none was.
        let _ = exec(conn, "ROLLBACK").await;
    }
    for (_, reply) in replies {
        reply(outcome.clone());
    }
}

/// Answers a job that never ran: its caller gets the error, nothing was written.
fn fail_unrun(job: Job, error: &str) {
    // The job's closure holds its answer channel; dropping it tells the caller the writer
    // could not run it.
    tracing::error!(error, "a write could not run");
    drop(job);
}

async fn exec(conn: &mut SqliteConnection, sql: &str) -> Result<(), String> {
    sqlx::query(sql).execute(&mut *conn).await.map(|_| ()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use std::{str::FromStr, time::Duration};

    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};

    use super::*;

    /// A writer on a fresh file with one table, and a second connection to look with.
    async fn writer() -> (Writer, SqliteConnection, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("writer-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", dir.join("db").display()))
            .unwrap()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let mut conn = SqliteConnection::connect_with(&opts).await.unwrap();
        sqlx::query("CREATE TABLE t (seq INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT NOT NULL UNIQUE)")
            .execute(&mut conn)
            .await
            .unwrap();
        let look = SqliteConnection::connect_with(&opts).await.unwrap();
        (Writer::spawn(conn), look, dir)
    }

    fn insert(w: &Writer, lane: Lane, k: &str) -> tokio::task::JoinHandle<Result<(), StoreError>> {
        let (w, k) = (w.clone(), k.to_owned());
        tokio::spawn(async move {
            w.run(lane, move |db| {
                Box::pin(async move {
                    sqlx::query("INSERT INTO t (k) VALUES (?)")
                        .bind(&k)
                        .execute(&mut *db)
                        .await
                        .map_err(|e| StoreError::Conflict(e.to_string()))?;
                    Ok(())
                })
            })
            .await
        })
    }

    /// A write that holds the writer inside its transaction until `go` fires; returns once it
    /// is there.
    async fn blocker(
        w: &Writer,
        k: &str,
    ) -> (tokio::task::JoinHandle<Result<(), StoreError>>, oneshot::Sender<()>) {
        let (started_tx, started) = oneshot::channel::<()>();
        let (go, go_rx) = oneshot::channel::<()>();
        let (w, k) = (w.clone(), k.to_owned());
        let handle = tokio::spawn(async move {
            w.run(Lane::Normal, move |db| {
                Box::pin(async move {
                    sqlx::query("INSERT INTO t (k) VALUES (?)").bind(&k).execute(&mut *db).await.unwrap();
                    started_tx.send(()).unwrap();
                    let _ = go_rx.await;
                    Ok(())
                })
            })
            .await
        });
        tokio::time::timeout(Duration::from_secs(10), started).await.unwrap().unwrap();
        (handle, go)
    }

    async fn queued(w: &Writer, n: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while QUEUE * 2 - w.normal.capacity() - w.urgent.capacity() < n {
            assert!(tokio::time::Instant::now() < deadline, "the writes never queued");
            tokio::task::yield_now().await;
        }
    }

    async fn keys(look: &mut SqliteConnection) -> Vec<String> {
        sqlx::query_scalar("SELECT k FROM t ORDER BY seq").fetch_all(&mut *look).await.unwrap()
    }

    #[tokio::test]
    async fn waiting_writes_share_one_commit_and_a_failed_one_is_undone_alone() {
        let (w, mut look, dir) = writer().await;
        let (first, go) = blocker(&w, "a").await;
        let (b, dup) = (insert(&w, Lane::Normal, "b"), insert(&w, Lane::Normal, "a"));
        // The last write looks at "b" from inside the batch and from another connection.
        let other =
            SqliteConnection::connect(&format!("sqlite://{}", dir.join("db").display())).await.unwrap();
        let w2 = w.clone();
        let last = tokio::spawn(async move {
            w2.run(Lane::Normal, move |db| {
                Box::pin(async move {
                    let mut other = other;
                    sqlx::query("INSERT INTO t (k) VALUES ('d')").execute(&mut *db).await.unwrap();
                    let count = "SELECT count(*) FROM t WHERE k = 'b'";
                    let inside: i64 = sqlx::query_scalar(count).fetch_one(&mut *db).await.unwrap();
                    let outside: i64 = sqlx::query_scalar(count).fetch_one(&mut other).await.unwrap();
                    Ok((inside, outside))
                })
            })
            .await
        });
        queued(&w, 3).await;
        go.send(()).unwrap();
        first.await.unwrap().unwrap();
        b.await.unwrap().unwrap();
        let refused = dup.await.unwrap().unwrap_err();
        assert!(refused.to_string().contains("UNIQUE"), "{refused}");
        // "b" was written but not yet committed when "d" ran: one transaction, one commit.
        assert_eq!(last.await.unwrap().unwrap(), (1, 0));
        assert_eq!(keys(&mut look).await, ["a", "b", "d"]);
    }

    #[tokio::test]
    async fn provider_updates_jump_the_queue() {
        let (w, mut look, _dir) = writer().await;
        let (first, go) = blocker(&w, "first").await;
        let normal = insert(&w, Lane::Normal, "checkout");
        queued(&w, 1).await;
        let urgent = insert(&w, Lane::Urgent, "webhook");
        queued(&w, 2).await;
        go.send(()).unwrap();
        for h in [first, normal, urgent] {
            h.await.unwrap().unwrap();
        }
        assert_eq!(keys(&mut look).await, ["first", "webhook", "checkout"]);
    }

    #[tokio::test]
    async fn a_caller_that_goes_away_mid_transaction_poisons_nothing() {
        let (w, mut look, _dir) = writer().await;
        // The caller is dropped while its write is inside the open transaction.
        let (caller, go) = blocker(&w, "dropped").await;
        caller.abort();
        assert!(caller.await.unwrap_err().is_cancelled());
        go.send(()).unwrap();
        // The next thousand writes all succeed, and the dropped caller's write stands.
        let writes: Vec<_> = (0..1000).map(|i| insert(&w, Lane::Normal, &format!("k{i}"))).collect();
        for h in writes {
            h.await.unwrap().unwrap();
        }
        let stored = keys(&mut look).await;
        assert_eq!(stored.len(), 1001);
        assert_eq!(stored[0], "dropped");
    }
}
