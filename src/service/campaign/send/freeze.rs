//! Freezing the audience: one send-log row per recipient, written in the transaction that
//! starts the send.

use chrono::Utc;

use super::take_lease;
use crate::db::{self, Db};
use crate::domain::Permission;
use crate::domain::campaign::Campaign;
use crate::service::authz::Session;
use crate::service::campaign::lifecycle;
use crate::{Error, Result};

/// Recipients handed from the audience reader to the writer at a time.
const FREEZE_BATCH: usize = 2_000;

/// Freezes the audience into the send log, in the transaction that starts the send. On a
/// database file a second thread reads the audience (its own connection, the rules of
/// `campaign audience`) while this one writes: 1,000,000 recipients take the longer of the
/// two instead of their sum, and are never all in memory at once.
pub(super) fn freeze_audience(session: &Session, c: &Campaign, now: chrono::DateTime<Utc>) -> Result<usize> {
    let grant = session.require(Permission::CampaignSend)?;
    let id = c.id;
    let start = |tx: &db::Tx| {
        take_lease(tx, id, now)?;
        db::campaign::mark_started(tx, id, now)
    };
    let finish = |tx: &db::Tx, n: usize| {
        let recipients = serde_json::json!({ "recipients": n });
        grant.audit(tx, "campaign.send", "campaign", Some(id), None, Some(&recipients)).map(|_| n)
    };
    let Some(path) = session.db().file_path() else {
        // An in-memory database has no second connection: read, then write.
        let mut rows = Vec::new();
        lifecycle::each_recipient(session, c, |(client, _, email, mailbox)| rows.push((client, email, mailbox)))?;
        return grant.write(|tx| {
            start(tx)?;
            finish(tx, db::campaign::freeze(tx, id, rows)?)
        });
    };
    let actor = session.actor().clone();
    std::thread::scope(|scope| {
        let (batches, receive) = std::sync::mpsc::sync_channel::<Vec<(i64, String, String)>>(8);
        let reader = scope.spawn(move || -> Result<()> {
            let db = Db::open(&path)?;
            let session = Session::new(&db, actor);
            let mut batch = Vec::with_capacity(FREEZE_BATCH);
            let mut writer_gone = false;
            lifecycle::each_recipient(&session, c, |(client, _, email, mailbox)| {
                batch.push((client, email, mailbox));
                if batch.len() == FREEZE_BATCH && !writer_gone {
                    writer_gone =
                        batches.send(std::mem::replace(&mut batch, Vec::with_capacity(FREEZE_BATCH))).is_err();
                }
            })?;
            // A writer that stopped has its own error; this one has nothing to add.
            let _ = batches.send(batch);
            Ok(())
        });
        // The receiver lives in the transaction: when it ends early the reader stops waiting.
        grant.write(move |tx| {
            start(tx)?;
            let n = db::campaign::freeze(tx, id, receive.iter().flatten())?;
            // Nothing is committed unless the whole audience was read.
            reader.join().map_err(|_| Error::internal("the audience reader panicked"))??;
            finish(tx, n)
        })
    })
}
