//! The template library (templates and their immutable versions) and the media library.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::{Read, Tx, unique_violation};
use crate::Result;
use crate::domain::template::{Media, Template, TemplateVersion};

const SELECT_TEMPLATE: &str = "SELECT t.id, t.name, t.kind, v.version, v.subject, v.source_kind, v.text IS NOT NULL,
        t.created_at, v.created_at, u.username
    FROM templates t
    JOIN template_versions v ON v.template_id = t.id
        AND v.version = (SELECT max(version) FROM template_versions WHERE template_id = t.id)
    LEFT JOIN users u ON u.id = v.created_by
    WHERE t.deleted_at IS NULL";

fn template_row(r: &Row<'_>) -> rusqlite::Result<Template> {
    Ok(Template {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: r.get(2)?,
        version: r.get(3)?,
        subject: r.get(4)?,
        source_kind: r.get(5)?,
        has_text: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
        updated_by: r.get(9)?,
    })
}

pub fn list(r: &impl Read) -> Result<Vec<Template>> {
    let sql = [SELECT_TEMPLATE, " ORDER BY t.name"].concat();
    let mut stmt = r.conn().prepare(&sql)?;
    let rows = stmt.query_map([], template_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn find(r: &impl Read, name: &str) -> Result<Option<Template>> {
    let sql = [SELECT_TEMPLATE, " AND t.name = ?1"].concat();
    Ok(r.conn().query_row(&sql, [name.trim()], template_row).optional()?)
}

pub fn get(r: &impl Read, id: i64) -> Result<Option<Template>> {
    let sql = [SELECT_TEMPLATE, " AND t.id = ?1"].concat();
    Ok(r.conn().query_row(&sql, [id], template_row).optional()?)
}

const SELECT_VERSION: &str =
    "SELECT v.template_id, t.name, t.kind, v.version, v.subject, v.source_kind, v.source, v.text,
        v.created_at, u.username
    FROM template_versions v JOIN templates t ON t.id = v.template_id LEFT JOIN users u ON u.id = v.created_by";

fn version_row(r: &Row<'_>) -> rusqlite::Result<TemplateVersion> {
    Ok(TemplateVersion {
        template_id: r.get(0)?,
        name: r.get(1)?,
        kind: r.get(2)?,
        version: r.get(3)?,
        subject: r.get(4)?,
        source_kind: r.get(5)?,
        source: r.get(6)?,
        text: r.get(7)?,
        created_at: r.get(8)?,
        created_by: r.get(9)?,
    })
}

/// One version of a template (the latest when `version` is None).
pub fn version(r: &impl Read, template_id: i64, version: Option<i64>) -> Result<Option<TemplateVersion>> {
    let sql = [
        SELECT_VERSION,
        " WHERE v.template_id = ?1 AND v.version = coalesce(?2, (SELECT max(version) FROM template_versions WHERE template_id = ?1))",
    ]
    .concat();
    Ok(r.conn().query_row(&sql, params![template_id, version], version_row).optional()?)
}

/// The latest version of every template that is not deleted (the library includes see).
pub fn latest_versions(r: &impl Read) -> Result<Vec<TemplateVersion>> {
    let sql = [
        SELECT_VERSION,
        " WHERE t.deleted_at IS NULL AND v.version = (SELECT max(version) FROM template_versions WHERE template_id = t.id)",
    ]
    .concat();
    let mut stmt = r.conn().prepare(&sql)?;
    let rows = stmt.query_map([], version_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn insert(tx: &Tx, name: &str, kind: &str, by: i64, now: DateTime<Utc>) -> Result<i64> {
    tx.conn()
        .execute(
            "INSERT INTO templates (name, kind, created_at, created_by) VALUES (?1, ?2, ?3, ?4)",
            params![name, kind, super::utc_text(now), by],
        )
        .map_err(|e| unique_violation(e, || format!("a template named `{name}` already exists")))?;
    Ok(tx.conn().last_insert_rowid())
}

/// Appends a version; returns its number.
pub fn add_version(tx: &Tx, v: &TemplateVersion, by: i64, now: DateTime<Utc>) -> Result<i64> {
    let next: i64 = tx.conn().query_row(
        "SELECT coalesce(max(version), 0) + 1 FROM template_versions WHERE template_id = ?1",
        [v.template_id],
        |r| r.get(0),
    )?;
    tx.conn().execute(
        "INSERT INTO template_versions (template_id, version, subject, source_kind, source, text, created_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![v.template_id, next, v.subject, v.source_kind, v.source, v.text, super::utc_text(now), by],
    )?;
    Ok(next)
}

/// Marks a template deleted (its versions stay: sent campaigns name them).
pub fn delete(tx: &Tx, id: i64, now: DateTime<Utc>) -> Result<()> {
    tx.conn().execute(
        "UPDATE templates SET deleted_at = ?2, name = name || ' (deleted ' || ?2 || ')' WHERE id = ?1",
        params![id, super::utc_text(now)],
    )?;
    Ok(())
}

/// Campaigns that pin a template and are not finished.
pub fn used_by_open_campaigns(r: &impl Read, template_id: i64) -> Result<Vec<i64>> {
    let mut stmt = r.conn().prepare(
        "SELECT id FROM campaigns WHERE template_id = ?1 AND status NOT IN ('sent', 'cancelled') ORDER BY id",
    )?;
    let rows = stmt.query_map([template_id], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const SELECT_MEDIA: &str = "SELECT m.id, m.name, m.sha256, m.mime, m.size, m.created_at, u.username
    FROM media m LEFT JOIN users u ON u.id = m.created_by";

fn media_row(r: &Row<'_>) -> rusqlite::Result<Media> {
    Ok(Media {
        id: r.get(0)?,
        name: r.get(1)?,
        sha256: r.get(2)?,
        mime: r.get(3)?,
        size: r.get(4)?,
        created_at: r.get(5)?,
        created_by: r.get(6)?,
    })
}

pub fn media_list(r: &impl Read) -> Result<Vec<Media>> {
    let sql = [SELECT_MEDIA, " ORDER BY m.name"].concat();
    let mut stmt = r.conn().prepare(&sql)?;
    let rows = stmt.query_map([], media_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A media file of the library by its SHA-256 (never any other blob: ticket attachments share
/// the blob store).
pub fn media_by_sha(r: &impl Read, sha256: &str) -> Result<Option<Media>> {
    let sql = [SELECT_MEDIA, " WHERE m.sha256 = ?1 ORDER BY m.id LIMIT 1"].concat();
    Ok(r.conn().query_row(&sql, [sha256], media_row).optional()?)
}

pub fn media_find(r: &impl Read, name: &str) -> Result<Option<Media>> {
    let sql = [SELECT_MEDIA, " WHERE m.name = ?1"].concat();
    Ok(r.conn().query_row(&sql, [name.trim()], media_row).optional()?)
}

pub fn media_by_hash(r: &impl Read, sha256: &str) -> Result<Option<Media>> {
    let sql = [SELECT_MEDIA, " WHERE m.sha256 = ?1 ORDER BY m.id LIMIT 1"].concat();
    Ok(r.conn().query_row(&sql, [sha256], media_row).optional()?)
}

pub fn media_insert(tx: &Tx, m: &Media, by: i64, now: DateTime<Utc>) -> Result<i64> {
    tx.conn()
        .execute(
            "INSERT INTO media (name, sha256, mime, size, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![m.name, m.sha256, m.mime, m.size, super::utc_text(now), by],
        )
        .map_err(|e| unique_violation(e, || format!("a media file named `{}` already exists", m.name)))?;
    Ok(tx.conn().last_insert_rowid())
}

pub fn media_delete(tx: &Tx, id: i64) -> Result<()> {
    tx.conn().execute("DELETE FROM media WHERE id = ?1", [id])?;
    Ok(())
}
