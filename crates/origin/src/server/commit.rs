//! Group commit for the native edge: the batches of requests that arrive while the store is
//! committing are applied together, in one transaction with one sync to disk, and each request
//! is answered only after that commit (so an acknowledged event is on disk, as before).
//!
//! One thread owns the writing: it takes the first waiting batch, then every other one already
//! queued (up to [`MAX_GROUP`]), applies them and answers each. Under no load a group is one
//! batch; under load, the cost of a commit is shared by the requests that waited for it.

use std::sync::Arc;

use edgecdp_core::sync::SyncBatch;
use edgecdp_core::time::Timestamp;
use tokio::sync::{mpsc, oneshot};

use crate::store::{Applied, Store};

/// The most batches one commit takes.
pub(super) const MAX_GROUP: usize = 64;

struct Job {
    batch: SyncBatch,
    at: Timestamp,
    done: oneshot::Sender<Result<Applied, String>>,
}

/// The queue to the committing thread.
#[derive(Clone)]
pub(super) struct Committer {
    jobs: mpsc::Sender<Job>,
}

impl Committer {
    /// Starts the committing thread over `store`.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub(super) fn start(store: Arc<dyn Store>) -> std::io::Result<Committer> {
        let (jobs, mut queue) = mpsc::channel::<Job>(4 * MAX_GROUP);
        std::thread::Builder::new().name("edgecdp-commit".into()).spawn(move || {
            while let Some(first) = queue.blocking_recv() {
                let mut group = vec![first];
                while group.len() < MAX_GROUP {
                    match queue.try_recv() {
                        Ok(job) => group.push(job),
                        Err(_) => break,
                    }
                }
                let batches: Vec<(&SyncBatch, Timestamp)> = group.iter().map(|j| (&j.batch, j.at)).collect();
                match store.apply_batches(&batches) {
                    Ok(applied) => {
                        for (job, a) in group.into_iter().zip(applied) {
                            // The request may have gone (its client hung up): nothing to tell.
                            let _ = job.done.send(Ok(a));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, batches = group.len(), "store operation failed");
                        for job in group {
                            let _ = job.done.send(Err(e.to_string()));
                        }
                    }
                }
            }
        })?;
        Ok(Committer { jobs })
    }

    /// Applies `batch` with the next commit; resolves after that commit.
    ///
    /// # Errors
    /// The store's error (nothing of the batch is applied), or that the committing thread is gone.
    pub(super) async fn apply(&self, batch: SyncBatch, at: Timestamp) -> Result<Applied, String> {
        let (done, answer) = oneshot::channel();
        self.jobs.send(Job { batch, at, done }).await.map_err(|_| "the committing thread is gone".to_owned())?;
        answer.await.map_err(|_| "the committing thread is gone".to_owned())?
    }
}
