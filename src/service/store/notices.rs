//! Notifications waiting to be e-mailed: queued in the transaction of what they tell of, claimed
//! by one sender, removed once sent or given up.

use super::{StoreError, StoreResult, Tx};
use crate::clock::UnixTime;
use crate::domain::{Notice, NoticeEvent};

/// How long a claim holds before another sender may take the notification over (its sender died,
/// or its send failed and it waits to be tried again).
const CLAIM_SECONDS: i64 = 300;

impl Tx<'_> {
    /// Queues a notification; it is sent once this transaction commits.
    pub fn queue_notice(&self, notice: &Notice) -> StoreResult<()> {
        self.execute(
            "INSERT INTO notification (mailbox, event, at, ip, country, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[&notice.mailbox, &notice.event.word(), &notice.at, &notice.ip, &notice.country, &notice.detail],
        )?;
        Ok(())
    }

    /// Claims up to `limit` notifications no other sender holds, oldest first: their ids, the
    /// attempts made before, and the notices.
    pub fn claim_notices(&self, now: UnixTime, limit: i64) -> StoreResult<Vec<(i64, i64, Notice)>> {
        let rows = self.query(
            "UPDATE notification SET claimed_at = ?1 WHERE id IN (
                 SELECT id FROM notification WHERE claimed_at IS NULL OR claimed_at <= ?1 - ?2 ORDER BY id LIMIT ?3)
             RETURNING id, attempts, mailbox, event, at, ip, country, detail",
            &[&now, &CLAIM_SECONDS, &limit],
        )?;
        let mut claimed = Vec::new();
        for r in rows {
            let word: String = r.get("event")?;
            let event = NoticeEvent::from_word(&word)
                .ok_or_else(|| StoreError::Corrupt(format!("a notification of an unknown event {word:?}")))?;
            let notice = Notice {
                mailbox: r.get("mailbox")?,
                event,
                at: r.get("at")?,
                ip: r.get("ip")?,
                country: r.get("country")?,
                detail: r.get("detail")?,
            };
            claimed.push((r.get("id")?, r.get("attempts")?, notice));
        }
        claimed.sort_by_key(|(id, _, _)| *id);
        Ok(claimed)
    }

    /// Counts a failed attempt; the notification stays claimed for [`CLAIM_SECONDS`], then any
    /// sender tries it again.
    pub fn retry_notice_later(&self, id: i64, now: UnixTime) -> StoreResult<()> {
        self.execute("UPDATE notification SET attempts = attempts + 1, claimed_at = ?2 WHERE id = ?1", &[&id, &now])?;
        Ok(())
    }

    /// Removes a notification that was sent, or failed for good.
    pub fn remove_notice(&self, id: i64) -> StoreResult<()> {
        self.execute("DELETE FROM notification WHERE id = ?1", &[&id])?;
        Ok(())
    }
}
