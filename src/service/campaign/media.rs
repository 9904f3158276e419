//! `rolo campaign media …`: images and files stored once by content (SHA-256), by name.

use chrono::Utc;
use sha2::{Digest, Sha256};

use crate::db;
use crate::domain::template::Media;
use crate::domain::{Permission, validate};
use crate::secrets::hex;
use crate::service::authz::Session;
use crate::{Error, Result};

/// The largest media file: images of e-mails stay small.
pub const MAX_MEDIA_BYTES: usize = 10 * 1024 * 1024;

/// The MIME type of a media file, by its name.
pub fn mime_of(name: &str) -> Result<&'static str> {
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    Ok(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "ics" => "text/calendar",
        _ => {
            return Err(Error::invalid(
                "file",
                format!("`{}` is not an image (png, jpg, gif, webp, svg) or a pdf/ics file", validate::excerpt(name)),
            ));
        }
    })
}

pub fn list(session: &Session) -> Result<Vec<Media>> {
    session.require(Permission::TemplateRead)?;
    db::template::media_list(session.db())
}

pub fn show(session: &Session, name: &str) -> Result<Media> {
    session.require(Permission::TemplateRead)?;
    db::template::media_find(session.db(), name)?.ok_or_else(|| Error::not_found("media", name.trim()))
}

/// A media file holds 1 byte to `MAX_MEDIA_BYTES`; a caller holding a path checks its size
/// before reading it.
pub fn check_size(len: u64) -> Result<()> {
    if len == 0 || len > MAX_MEDIA_BYTES as u64 {
        return Err(Error::invalid("file", format!("must hold 1 byte to {} MiB", MAX_MEDIA_BYTES / (1024 * 1024))));
    }
    Ok(())
}

/// Adds a file under a name; the bytes are stored once however many names share them.
pub fn add(session: &Session, name: &str, bytes: &[u8]) -> Result<Media> {
    let grant = session.require(Permission::TemplateManage)?;
    let name = validate::text("name", name, 200)?;
    if name.contains(['"', '\'', '/', '\\']) {
        return Err(Error::invalid("name", "must not contain quotes or slashes"));
    }
    let mime = mime_of(&name)?;
    check_size(bytes.len() as u64)?;
    let sha256 = hex(&Sha256::digest(bytes));
    let now = Utc::now();
    let actor = session.actor().id;
    grant.write(|tx| {
        db::ticket::put_blob(tx, &sha256, bytes)?;
        let m = Media {
            name: name.clone(),
            sha256: sha256.clone(),
            mime: mime.into(),
            size: bytes.len() as i64,
            ..Default::default()
        };
        db::template::media_insert(tx, &m, actor, now)?;
        let created = db::template::media_find(tx, &name)?.ok_or_else(|| Error::internal("media vanished"))?;
        grant.audit(tx, "media.add", "media", Some(created.id), None, Some(&created))?;
        Ok(created)
    })
}

/// A media file's bytes.
pub fn bytes(session: &Session, name: &str) -> Result<(Media, Vec<u8>)> {
    let m = show(session, name)?;
    let data = db::ticket::blob(session.db(), &m.sha256)?;
    Ok((m, data))
}

/// `GET /m/SHA256` of `rolo serve`: a media file of the library, to anyone (campaign images
/// are public). Only what the library holds: an attachment of a ticket shares the blob store
/// and is "not found" here, as is anything that is not a SHA-256.
pub fn public_file(db: &crate::db::Db, sha256: &str) -> Result<(Media, Vec<u8>)> {
    let valid = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let m = valid
        .then(|| db::template::media_by_sha(db, sha256))
        .transpose()?
        .flatten()
        .ok_or_else(|| Error::new(crate::ErrorKind::NotFound, "no such media"))?;
    let data = db::ticket::blob(db, &m.sha256)?;
    Ok((m, data))
}

pub fn remove(session: &Session, name: &str) -> Result<Media> {
    let grant = session.require(Permission::TemplateManage)?;
    let m = db::template::media_find(session.db(), name)?.ok_or_else(|| Error::not_found("media", name.trim()))?;
    grant.write(|tx| {
        db::template::media_delete(tx, m.id)?;
        grant.audit(tx, "media.remove", "media", Some(m.id), Some(&m), None)?;
        Ok(m.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::testing;

    #[test]
    fn a_media_file_holds_one_byte_to_the_limit() {
        let max = MAX_MEDIA_BYTES as u64;
        for (len, ok) in [(0, false), (1, true), (max, true), (max + 1, false), (u64::MAX, false)] {
            assert_eq!(check_size(len).is_ok(), ok, "{len} bytes");
        }
        let db = testing::demo();
        let mark = testing::session_as(&db, "mark");
        let before = list(&mark).expect("list").len();
        let e = add(&mark, "empty.png", b"").expect_err("an empty file is refused");
        assert!(matches!(e.kind(), crate::error::ErrorKind::Invalid), "{}", e.message());
        assert_eq!(list(&mark).expect("list").len(), before, "nothing stored");
    }
}
