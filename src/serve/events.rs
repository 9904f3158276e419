//! Group commit of tracking events. Handlers resolve their token on the blocking pool (reads
//! only), hand the event to one writer thread and wait for it to be committed before they
//! answer: the writer stores everything that queued up meanwhile in one transaction. So an
//! answered request is a stored event (nothing is lost at SIGTERM or `kill -9` after a 200), and
//! fifty clients cost one write lock per batch instead of one each.

use std::sync::mpsc;

use tokio::sync::oneshot;

use crate::db::Db;
use crate::service::campaign::tracking::{self, Event};
use crate::{Error, Result};

/// At most this many events per transaction.
const BATCH: usize = 2000;

type Job = (Event, oneshot::Sender<Result<()>>);

pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    pub fn start(db: Db) -> Result<Writer> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("rolo-events".into())
            .spawn(move || {
                // Ends when the server drops its sender and the queue is empty.
                while let Ok(first) = queue.recv() {
                    let mut batch = vec![first];
                    while batch.len() < BATCH
                        && let Ok(next) = queue.try_recv()
                    {
                        batch.push(next);
                    }
                    let events: Vec<Event> = batch.iter().map(|(e, _)| e.clone()).collect();
                    let outcome = tracking::record(&db, &events);
                    for (_, reply) in batch {
                        let _ = reply.send(outcome.as_ref().map(|_| ()).map_err(|e| Error::internal(e.message())));
                    }
                }
            })
            .map_err(|e| Error::internal(format!("cannot start the event writer: {e}")))?;
        Ok(Writer { jobs })
    }

    /// Stores an event; returns once it is committed.
    pub async fn store(&self, event: Event) -> Result<()> {
        let (reply, done) = oneshot::channel();
        self.jobs.send((event, reply)).map_err(|_| Error::internal("the event writer has stopped"))?;
        done.await.map_err(|_| Error::internal("the event writer has stopped"))?
    }
}
