//! Attachments: the size rule, content-addressed storage, and who may download one.

use super::*;
use crate::db::{self, Tx};
use crate::domain::{Permission, validate};
use crate::secrets::hex;
use crate::service::authz::Session;
use crate::service::refs;
use crate::{Error, Result};
use sha2::{Digest, Sha256};

pub(crate) fn mime_of(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "txt" | "log" => "text/plain",
        "csv" => "text/csv",
        "json" => "application/json",
        "zip" => "application/zip",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}

/// The size rule for attachments; the CLI asks it before reading a file.
pub fn check_attachment_size(settings: &Settings, name: &str, bytes: u64) -> Result<()> {
    if bytes > settings.max_attachment_bytes {
        return Err(Error::invalid(
            "attach",
            format!("`{name}` is larger than the {} MiB limit", settings.max_attachment_bytes / (1024 * 1024)),
        ));
    }
    Ok(())
}

pub(super) fn check_attachments(files: &[NewAttachment], settings: &Settings) -> Result<()> {
    for f in files {
        check_attachment_size(settings, &f.name, f.bytes.len() as u64)?;
        validate::text("attach", &f.name, 255)?;
    }
    Ok(())
}

pub(super) fn store_attachments(tx: &Tx, message: i64, files: &[NewAttachment]) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for f in files {
        let sha = hex(&Sha256::digest(&f.bytes));
        db::ticket::put_blob(tx, &sha, &f.bytes)?;
        db::ticket::add_attachment(tx, message, &sha, &f.name, mime_of(&f.name), f.bytes.len() as i64)?;
        names.push(f.name.clone());
    }
    Ok(names)
}

pub(super) fn attachment_note(names: &[String]) -> String {
    if names.is_empty() { String::new() } else { format!(" (attached: {})", names.join(", ")) }
}

/// An attachment's bytes, if the user may see the message it belongs to.
pub fn attachment(session: &Session, id: i64) -> Result<(AttachmentInfo, Vec<u8>)> {
    let Some((info, ticket_id, internal)) = db::ticket::attachment(session.db(), id)? else {
        return Err(Error::not_found("attachment", id));
    };
    // The ticket must be readable: a foreign attachment does not exist for a client.
    refs::ticket(session, &ticket_id.to_string())
        .map_err(|e| if e.kind() == crate::ErrorKind::NotFound { Error::not_found("attachment", id) } else { e })?;
    if internal && !session.can(Permission::TicketNote) {
        // An internal note's file does not exist for a client.
        return Err(Error::not_found("attachment", id));
    }
    let bytes = db::ticket::blob(session.db(), &info.sha256)?;
    Ok((info, bytes))
}
