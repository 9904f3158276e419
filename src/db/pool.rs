//! Connections for a server: one per request (or worker), handed out from a small pool. The
//! schema is checked once when the pool opens; later connections are only configured (busy
//! timeout, WAL, foreign keys), so a request does not pay for the migration check.
//!
//! A [`Db`] is `Send` but not `Sync`: each thread takes its own from the pool, builds a
//! `service::Session` on it, and gives it back when the guard drops.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use super::Db;
use crate::Result;

/// A pool of open connections to one database file.
pub struct Pool {
    path: PathBuf,
    idle: Mutex<Vec<Db>>,
    max_idle: usize,
}

impl Pool {
    /// Opens the database (checking and migrating its schema once) and keeps that first
    /// connection for the first caller.
    pub fn open(path: &Path, max_idle: usize) -> Result<Arc<Pool>> {
        let first = Db::open(path)?;
        Ok(Arc::new(Pool { path: path.to_path_buf(), idle: Mutex::new(vec![first]), max_idle: max_idle.max(1) }))
    }

    /// A connection for this thread: an idle one, or a new one (configured, not migrated).
    pub fn get(self: &Arc<Self>) -> Result<Pooled> {
        let reused = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let db = match reused {
            Some(db) => db,
            None => Db::open_configured(&self.path)?,
        };
        Ok(Pooled { db: Some(db), pool: Arc::clone(self) })
    }

    /// How many connections wait idle (for tests and the health check).
    pub fn idle(&self) -> usize {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

/// A connection on loan; it goes back to the pool when dropped (unless a transaction was left
/// open by a panic, in which case it is closed).
pub struct Pooled {
    db: Option<Db>,
    pool: Arc<Pool>,
}

impl Deref for Pooled {
    type Target = Db;
    fn deref(&self) -> &Db {
        // Only `drop` takes the connection out.
        self.db.as_ref().unwrap_or_else(|| unreachable!("a pooled connection is present until dropped"))
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let Some(db) = self.db.take() else { return };
        if !db.conn.is_autocommit() {
            return;
        }
        let mut idle = self.pool.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.pool.max_idle {
            idle.push(db);
        }
    }
}
