//! `rolo ticket project …`: client projects and which client accounts see them.

use super::ProjectCommand;
use crate::Result;
use crate::cli::Ctx;
use crate::service::{Session, project};

const PROJECT_COLUMNS: &[&str] = &["id", "name", "company", "open_tickets", "created_at"];

pub(super) fn run(ctx: &Ctx, session: &Session, cmd: ProjectCommand) -> Result<()> {
    match cmd {
        ProjectCommand::List { company } => {
            ctx.out.list(&project::list(session, company.as_deref())?, PROJECT_COLUMNS, "No projects.")
        }
        ProjectCommand::Show { project: key } => {
            let p = project::visible(session, &key)?;
            let members = project::members(session, &p)?;
            let mut record = serde_json::to_value(&p)?;
            record["client_accounts"] = serde_json::json!(members);
            ctx.out.record(&record, &["id", "name", "company", "description", "open_tickets", "client_accounts"])
        }
        ProjectCommand::Create { name, company, description } => {
            let name = ctx.prompt.text(name, "Project name", "--name")?;
            let company = ctx.prompt.text(company, "Client company", "--company")?;
            let p = project::create(session, &name, &company, description.as_deref().unwrap_or(""))?;
            ctx.out.status(format!("Created project {} ({}).", p.id, p.name));
            ctx.out.record(&p, PROJECT_COLUMNS)
        }
        ProjectCommand::Grant { project: key, user } => {
            let p = project::set_access(session, &key, &user, true)?;
            ctx.out.status(format!("`{user}` may now see project {}.", p.name));
            Ok(())
        }
        ProjectCommand::Revoke { project: key, user } => {
            let p = project::set_access(session, &key, &user, false)?;
            ctx.out.status(format!("`{user}` no longer sees project {}.", p.name));
            Ok(())
        }
    }
}
