//! `rolo login`, `rolo logout`, `rolo whoami`.

use clap::Args;
use serde::Serialize;

use super::Ctx;
use super::prompt::read_stdin_line;
use crate::Result;
use crate::service;

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Your username (prompted on a terminal)
    #[arg(long, short)]
    username: Option<String>,
    /// Read the password from the first line of stdin (else ROLO_PASSWORD, else a prompt)
    #[arg(long)]
    password_stdin: bool,
    /// Print an access token (valid 1 h) on stdout instead of storing the session: for scripts
    /// that pass it on as ROLO_TOKEN
    #[arg(long)]
    print_token: bool,
}

#[derive(Serialize)]
struct LoggedIn<'a> {
    username: &'a str,
    full_name: &'a str,
    roles: &'a [String],
    access_expires_at: String,
    token_store: String,
}

#[derive(Serialize)]
struct Token<'a> {
    token: &'a str,
    expires_at: String,
}

pub fn login(ctx: &Ctx, args: LoginArgs) -> Result<()> {
    let db = ctx.open_db()?;
    let username = ctx.prompt.text(args.username, "Username", "--username")?;
    let password = if args.password_stdin {
        read_stdin_line("password")?
    } else if let Some(p) = &ctx.config.env.password {
        crate::secrets::Secret::new(p.clone())
    } else {
        ctx.prompt.password("Password", "use --password-stdin or ROLO_PASSWORD")?
    };
    let (actor, issued) = service::auth::login(&db, &username, &password)?;
    let expires = crate::domain::time::format_utc(issued.access_expires_at);
    if args.print_token {
        let token = Token { token: issued.tokens.access.expose(), expires_at: expires };
        return match ctx.out.format {
            super::Format::Table => super::output::raw(format!("{}\n", token.token).as_bytes()),
            _ => ctx.out.record(&token, &["token", "expires_at"]),
        };
    }
    let store = ctx.save_tokens(&issued.tokens)?;
    ctx.out.status(format!("Logged in as {} ({}). Session kept in {store}.", actor.username, actor.roles.join(", ")));
    if ctx.out.format != super::Format::Table {
        let view = LoggedIn {
            username: &actor.username,
            full_name: &actor.full_name,
            roles: &actor.roles,
            access_expires_at: expires,
            token_store: store,
        };
        ctx.out.record(&view, &["username", "full_name", "roles", "access_expires_at", "token_store"])?;
    }
    Ok(())
}

pub fn logout(ctx: &Ctx) -> Result<()> {
    let revoked = match ctx.open_db() {
        Ok(db) => {
            let (creds, _) = ctx.credentials()?;
            service::auth::logout(&db, &creds)?
        }
        // No database: nothing to revoke, but still forget any stored token.
        Err(e) if e.kind() == crate::ErrorKind::Usage => false,
        Err(e) => return Err(e),
    };
    // With ROLO_TOKEN, that token's session is the one revoked; the stored login stays.
    if !ctx.token_from_env() {
        ctx.clear_tokens()?;
    }
    ctx.out.status(if revoked { "Logged out; the session is revoked." } else { "Not logged in; nothing to do." });
    Ok(())
}

#[derive(Serialize)]
struct WhoAmI<'a> {
    id: i64,
    username: &'a str,
    full_name: &'a str,
    email: &'a str,
    roles: &'a [String],
    permissions: Vec<&'static str>,
    database: String,
}

pub fn whoami(ctx: &Ctx) -> Result<()> {
    let db = ctx.open_db()?;
    let session = ctx.session(&db)?;
    let a = session.actor();
    let view = WhoAmI {
        id: a.id,
        username: &a.username,
        full_name: &a.full_name,
        email: &a.email,
        roles: &a.roles,
        permissions: a.permissions.iter().map(|p| p.as_str()).collect(),
        database: ctx.db_path().display().to_string(),
    };
    ctx.out.record(&view, &["username", "full_name", "email", "roles", "permissions", "database"])
}
