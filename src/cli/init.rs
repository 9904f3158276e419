//! `rolo init`: a new database and its first admin, or the demo database.

use clap::Args;
use serde::Serialize;

use super::Ctx;
use super::prompt::read_stdin_line;
use crate::Result;
use crate::db::Db;
use crate::service::setup;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The admin's username
    #[arg(long)]
    admin_username: Option<String>,
    /// The admin's e-mail
    #[arg(long)]
    admin_email: Option<String>,
    /// The admin's full name
    #[arg(long)]
    admin_name: Option<String>,
    /// Read the admin's password from the first line of stdin (else ROLO_NEW_PASSWORD, else a prompt)
    #[arg(long)]
    password_stdin: bool,
    /// Fill the new database with demo accounts (passwords printed once)
    #[arg(long, conflicts_with_all = ["admin_username", "admin_email", "admin_name", "password_stdin"])]
    demo: bool,
    /// Encrypt the new database (SQLCipher) with ROLO_DB_KEY, else a new random key kept in the
    /// system keyring and shown once
    #[arg(long)]
    encrypt: bool,
}

/// The new database, encrypted when asked; the key is reported once the database exists.
fn create(ctx: &Ctx, encrypt: bool) -> Result<(Db, Option<(crate::db::key::DbKey, bool)>)> {
    if !encrypt {
        return Ok((Db::open_or_create(ctx.db_path())?, None));
    }
    let (key, generated) = crate::service::encryption::new_key("ROLO_DB_KEY")?;
    Ok((Db::create_encrypted(ctx.db_path(), &key)?, Some((key, generated))))
}

/// Where the key of a database `init --encrypt` made is kept.
fn report_key(ctx: &Ctx, key: Option<(crate::db::key::DbKey, bool)>) -> Result<()> {
    let Some((key, generated)) = key else { return Ok(()) };
    let done = crate::service::encryption::keep(ctx.db_path(), Some(&key), generated)?;
    super::dbfile::report(ctx, &done)
}

#[derive(Serialize)]
struct Initialised<'a> {
    database: String,
    admin: &'a str,
}

pub fn run(ctx: &Ctx, args: InitArgs) -> Result<()> {
    if args.demo {
        let (db, key) = create(ctx, args.encrypt)?;
        report_key(ctx, key)?;
        let accounts = setup::demo(&db)?;
        ctx.out.list(&accounts, &["username", "full_name", "role", "password"], "")?;
        ctx.out.status(format!(
            "Demo database ready at {}. Log in with: rolo --db {} login --username admin",
            ctx.db_path().display(),
            ctx.db_path().display()
        ));
        return Ok(());
    }
    // Ask everything before creating the file, so a cancelled prompt leaves nothing behind.
    let username = ctx.prompt.text(args.admin_username, "Admin username", "--admin-username")?;
    let email = ctx.prompt.text(args.admin_email, "Admin e-mail", "--admin-email")?;
    let full_name = ctx.prompt.text(args.admin_name, "Admin full name", "--admin-name")?;
    let password = if args.password_stdin {
        read_stdin_line("password")?
    } else if let Some(p) = &ctx.config.env.new_password {
        crate::secrets::Secret::new(p.clone())
    } else {
        ctx.prompt.new_password("Admin password (12+ characters)", "use --password-stdin or ROLO_NEW_PASSWORD")?
    };
    let existed = ctx.db_path().exists();
    let created = create(ctx, args.encrypt)
        .and_then(|(db, key)| Ok((setup::init(&db, setup::NewAdmin { username, email, full_name, password })?, key)));
    let admin = match created {
        Ok((a, key)) => {
            report_key(ctx, key)?;
            a
        }
        Err(e) => {
            // A database file this command created for nothing is removed again.
            if !existed {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", ctx.db_path().display()));
                }
            }
            return Err(e);
        }
    };
    ctx.out.status(format!(
        "Created {} with admin `{}`. Next: rolo login --username {}",
        ctx.db_path().display(),
        admin.username,
        admin.username
    ));
    if ctx.out.format != super::Format::Table {
        ctx.out.record(
            &Initialised { database: ctx.db_path().display().to_string(), admin: &admin.username },
            &["database", "admin"],
        )?;
    }
    Ok(())
}
