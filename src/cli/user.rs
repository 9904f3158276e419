//! `rolo user …` and `rolo user role …`.

use clap::{Args, Subcommand};

use super::Ctx;
use super::prompt::read_stdin_line;
use crate::secrets::Secret;
use crate::service::{role, user};
use crate::{Error, Result};

/// JSON keys of a user (all listed for CSV and tables): id, username, full_name, email,
/// roles, active, locked_until, last_login_at, created_at, updated_at.
const USER_COLUMNS: &[&str] =
    &["id", "username", "full_name", "email", "roles", "active", "last_login_at", "created_at"];
const USER_RECORD: &[&str] = &[
    "id",
    "username",
    "full_name",
    "email",
    "roles",
    "active",
    "locked_until",
    "last_login_at",
    "created_at",
    "updated_at",
];
const ROLE_COLUMNS: &[&str] = &["name", "builtin", "users", "description"];

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// List active users (JSON keys: id, username, full_name, email, roles, active, locked_until,
    /// last_login_at, created_at, updated_at)
    List {
        /// Only users whose username, name or e-mail contains TEXT
        #[arg(long)]
        search: Option<String>,
        /// Only holders of this role
        #[arg(long)]
        role: Option<String>,
        /// Include deactivated users
        #[arg(long)]
        all: bool,
        /// At most N users
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Show one user
    Show {
        /// The account's username
        username: String,
    },
    /// Create a collaborator or client account
    Create(CreateArgs),
    /// Change a user's name or e-mail
    Update {
        /// The account to change (username)
        username: String,
        /// New e-mail address
        #[arg(long)]
        email: Option<String>,
        /// New full name
        #[arg(long)]
        name: Option<String>,
    },
    /// Deactivate an account (it keeps its data; its sessions are revoked)
    Deactivate {
        /// The account to deactivate (username)
        username: String,
    },
    /// Reactivate an account (also clears a login lockout)
    Activate {
        /// The account to activate again (username)
        username: String,
    },
    /// Change your password, or reset someone else's; every session of that account is revoked
    Passwd {
        /// Whose password (default: yours)
        username: Option<String>,
        /// Read the new password from the first line of stdin (else ROLO_NEW_PASSWORD, else a prompt)
        #[arg(long)]
        password_stdin: bool,
    },
    /// Roles and the permission catalogue
    #[command(subcommand)]
    Role(RoleCommand),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Login name: 2-32 of a-z, 0-9, '.', '_' or '-'
    #[arg(long)]
    username: Option<String>,
    /// E-mail address
    #[arg(long)]
    email: Option<String>,
    /// Full name
    #[arg(long)]
    name: Option<String>,
    /// A role (repeat for several): admin, management, sales, support, marketing, client, or a custom role
    #[arg(long = "role", value_name = "ROLE")]
    roles: Vec<String>,
    /// For a client account: the e-mail (or id) of its client contact
    #[arg(long, value_name = "EMAIL")]
    client: Option<String>,
    /// Read the password from the first line of stdin (else ROLO_NEW_PASSWORD, else a prompt)
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// List roles (JSON keys: id, name, description, builtin, permissions, users)
    List,
    /// Show a role's permissions and holders
    Show {
        /// The role's name
        name: String,
    },
    /// Create a custom role from the permission catalogue
    Create {
        /// The new role's name
        name: String,
        /// What the role is for
        #[arg(long)]
        description: Option<String>,
        /// A permission such as client:read (repeat for several)
        #[arg(long = "permission", value_name = "PERMISSION")]
        permissions: Vec<String>,
    },
    /// Give a role to a user (--user), or add permissions to a custom role (--permission)
    Grant(GrantArgs),
    /// Take a role from a user (--user), or remove permissions from a custom role (--permission)
    Revoke(GrantArgs),
    /// The permission catalogue
    Permissions,
}

#[derive(Debug, Args)]
pub struct GrantArgs {
    /// The role
    role: String,
    /// The user to give it to or take it from (username)
    #[arg(long, required_unless_present = "permissions", conflicts_with = "permissions")]
    user: Option<String>,
    /// A permission of the catalogue to add or remove (custom roles only; repeat the flag)
    #[arg(long = "permission", value_name = "PERMISSION")]
    permissions: Vec<String>,
}

pub fn run(ctx: &Ctx, cmd: UserCommand) -> Result<()> {
    let db = ctx.open_db()?;
    let session = ctx.session(&db)?;
    match cmd {
        UserCommand::List { search, role, all, limit } => {
            let users = user::list(&session, &user::ListFilter { search, role, include_inactive: all, limit })?;
            ctx.out.list(&users, USER_COLUMNS, "No users match.")
        }
        UserCommand::Show { username } => ctx.out.record(&user::show(&session, &username)?, USER_RECORD),
        UserCommand::Create(a) => {
            let username = ctx.prompt.text(a.username, "Username", "--username")?;
            let email = ctx.prompt.text(a.email, "E-mail", "--email")?;
            let full_name = ctx.prompt.text(a.name, "Full name", "--name")?;
            let roles = if a.roles.is_empty() { vec![ctx.prompt.text(None, "Role", "--role")?] } else { a.roles };
            let password = new_password(ctx, a.password_stdin)?;
            let created = user::create(
                &session,
                user::NewUser { username, email, full_name, roles, client: a.client, password },
            )?;
            ctx.out.status(format!("Created user `{}` ({}).", created.username, created.roles.join(", ")));
            ctx.out.record(&created, USER_RECORD)
        }
        UserCommand::Update { username, email, name } => {
            if email.is_none() && name.is_none() {
                return Err(Error::usage("nothing to change: pass --email and/or --name"));
            }
            let updated = user::update(&session, &username, user::UserPatch { email, full_name: name })?;
            ctx.out.status(format!("Updated user `{}`.", updated.username));
            ctx.out.record(&updated, USER_RECORD)
        }
        UserCommand::Deactivate { username } => {
            let u = user::deactivate(&session, &username)?;
            ctx.out.status(format!("Deactivated `{}`; their sessions are revoked.", u.username));
            ctx.out.record(&u, USER_RECORD)
        }
        UserCommand::Activate { username } => {
            let u = user::activate(&session, &username)?;
            ctx.out.status(format!("Activated `{}`.", u.username));
            ctx.out.record(&u, USER_RECORD)
        }
        UserCommand::Passwd { username, password_stdin } => {
            let me = session.actor().username.clone();
            let target = username.unwrap_or_else(|| me.clone());
            let current = if target == me {
                Some(match &ctx.config.env.password {
                    Some(p) => Secret::new(p.clone()),
                    None => ctx.prompt.password("Current password", "set ROLO_PASSWORD to your current password")?,
                })
            } else {
                None
            };
            let new = new_password(ctx, password_stdin)?;
            let revoked = user::change_password(&session, &target, current.as_ref(), &new)?;
            ctx.out.status(format!("Password of `{target}` changed; {revoked} session(s) revoked."));
            if target == me {
                ctx.clear_tokens()?;
                ctx.out.status("Log in again with `rolo login`.");
            }
            Ok(())
        }
        UserCommand::Role(cmd) => run_role(ctx, &session, cmd),
    }
}

fn new_password(ctx: &Ctx, stdin: bool) -> Result<Secret<String>> {
    if stdin {
        read_stdin_line("password")
    } else if let Some(p) = &ctx.config.env.new_password {
        Ok(Secret::new(p.clone()))
    } else {
        ctx.prompt.new_password("Password (12+ characters)", "use --password-stdin or ROLO_NEW_PASSWORD")
    }
}

fn run_role(ctx: &Ctx, session: &crate::service::Session, cmd: RoleCommand) -> Result<()> {
    match cmd {
        RoleCommand::List => ctx.out.list(&role::list(session)?, ROLE_COLUMNS, "No roles."),
        RoleCommand::Show { name } => {
            let detail = role::show(session, &name)?;
            ctx.out.record(&detail, &["name", "description", "builtin", "permissions", "holders"])
        }
        RoleCommand::Create { name, description, permissions } => {
            let r = role::create(session, &name, description.as_deref().unwrap_or(""), &permissions)?;
            ctx.out.status(format!("Created role `{}` with {} permission(s).", r.name, r.permissions.len()));
            ctx.out.record(&r, &["name", "description", "builtin", "permissions"])
        }
        RoleCommand::Grant(a) | RoleCommand::Revoke(a) if a.user.is_none() && a.permissions.is_empty() => {
            Err(Error::usage(format!("pass --user or --permission for role `{}`", a.role)))
        }
        RoleCommand::Grant(GrantArgs { role: name, user: Some(u), .. }) => {
            let after = role::assign(session, &name, &u)?;
            ctx.out.status(format!("`{}` now has the role `{name}`.", after.username));
            ctx.out.record(&after, USER_RECORD)
        }
        RoleCommand::Revoke(GrantArgs { role: name, user: Some(u), .. }) => {
            let after = role::unassign(session, &name, &u)?;
            ctx.out.status(format!("`{}` no longer has the role `{name}`.", after.username));
            ctx.out.record(&after, USER_RECORD)
        }
        RoleCommand::Grant(GrantArgs { role: name, permissions, .. }) => {
            let r = role::change_permissions(session, &name, &permissions, true)?;
            ctx.out.record(&r, &["name", "description", "builtin", "permissions"])
        }
        RoleCommand::Revoke(GrantArgs { role: name, permissions, .. }) => {
            let r = role::change_permissions(session, &name, &permissions, false)?;
            ctx.out.record(&r, &["name", "description", "builtin", "permissions"])
        }
        RoleCommand::Permissions => {
            #[derive(serde::Serialize)]
            struct Row {
                permission: &'static str,
                resource: &'static str,
            }
            let rows: Vec<Row> = role::catalogue(session)
                .into_iter()
                .map(|p| Row { permission: p.as_str(), resource: p.resource() })
                .collect();
            ctx.out.list(&rows, &["permission", "resource"], "")
        }
    }
}
