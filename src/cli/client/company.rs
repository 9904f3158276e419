//! `rolo client company …`: the companies (firms) clients belong to.

use clap::{Args, Subcommand};

use crate::Result;
use crate::cli::Ctx;
use crate::cli::edit::edit;
use crate::cli::import::{ImportArgs, run_export, run_import};
use crate::service::{Session, company, import, population};

const COMPANY_COLUMNS: &[&str] =
    &["id", "name", "size", "industry", "business_type", "country", "sales_owner", "clients"];
/// A company's card: every key of the record but the internal ids.
fn record_columns() -> Vec<String> {
    crate::domain::keys_of::<company::Company>().into_iter().filter(|k| !k.ends_with("_id")).collect()
}

#[derive(Debug, Subcommand)]
pub enum CompanyCommand {
    /// List companies (JSON keys: id, name, logo, size, industry, business_type, country, website,
    /// time_zone, total_income, currency, sales_owner_id, sales_owner, clients, created_at, updated_at)
    List {
        /// Only companies I own as sales owner
        #[arg(long)]
        mine: bool,
        /// Companies whose name contains TEXT (case ignored)
        #[arg(long)]
        search: Option<String>,
        /// At most N companies
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Show a company (by id or exact name)
    Show {
        /// The company (id or exact name)
        company: String,
    },
    /// Create a company
    Create(CompanyArgs),
    /// Change a company; no flag opens $EDITOR
    Update {
        /// The company to change (id or exact name)
        company: String,
        #[command(flatten)]
        fields: CompanyArgs,
    },
    /// Import companies (matched by name); columns: name,logo,size,industry,business_type,
    /// country,website,time_zone,total_income,currency,sales_owner
    Import(ImportArgs),
    /// Export every company in the import columns (CSV, or JSON lines with --format json)
    Export,
    /// Companies to create for clients that have none, grouped by e-mail domain (webmail
    /// excluded). JSON keys: domain, suggested_name, existing_company, clients, examples
    Suggest,
}

#[derive(Debug, Args, Default)]
pub struct CompanyArgs {
    /// Company name (unique, case ignored)
    #[arg(long)]
    name: Option<String>,
    /// Path or URL of the logo file
    #[arg(long)]
    logo: Option<String>,
    /// enterprise, large, medium or small
    #[arg(long)]
    size: Option<String>,
    /// Industry, e.g. Events
    #[arg(long)]
    industry: Option<String>,
    /// B2B, B2C or B2G
    #[arg(long)]
    business_type: Option<String>,
    /// Country
    #[arg(long)]
    country: Option<String>,
    /// Web site, e.g. https://example.com (https:// is added to a bare domain)
    #[arg(long)]
    website: Option<String>,
    /// IANA time zone, e.g. Europe/Paris
    #[arg(long)]
    time_zone: Option<String>,
    /// Total income, e.g. 1250000.00
    #[arg(long, allow_hyphen_values = true)]
    total_income: Option<String>,
    /// Currency of the total income (default EUR)
    #[arg(long)]
    currency: Option<String>,
    /// Sales owner (username)
    #[arg(long)]
    sales_owner: Option<String>,
}

impl CompanyArgs {
    fn input(self) -> company::CompanyInput {
        company::CompanyInput {
            name: self.name,
            logo: self.logo,
            size: self.size,
            industry: self.industry,
            business_type: self.business_type,
            country: self.country,
            website: self.website,
            time_zone: self.time_zone,
            total_income: self.total_income,
            currency: self.currency,
            sales_owner: self.sales_owner,
        }
    }
}

pub(super) fn run(ctx: &Ctx, session: &Session, cmd: CompanyCommand) -> Result<()> {
    match cmd {
        CompanyCommand::Import(args) => {
            run_import(ctx, session, args, None, "companies", &|s, input, opts, progress| {
                import::import_companies(s, input, opts, progress)
            })
        }
        CompanyCommand::Export => {
            run_export(ctx, &import::company_columns(), "companies", &|emit| import::export_companies(session, emit))
        }
        CompanyCommand::Suggest => ctx.out.list(
            &population::suggest_companies(session)?,
            &["domain", "suggested_name", "existing_company", "clients", "examples"],
            "Every client with a company e-mail domain has a company.",
        ),
        CompanyCommand::List { mine, search, limit } => {
            let companies = company::list(session, &company::ListFilter { mine, search, limit })?;
            ctx.out.list(&companies, COMPANY_COLUMNS, "No companies match.")
        }
        CompanyCommand::Show { company: key } => ctx.out.record(&company::show(session, &key)?, &record_columns()),
        CompanyCommand::Create(mut a) => {
            a.name = Some(ctx.prompt.text(a.name, "Company name", "--name")?);
            let created = company::create(session, &a.input())?;
            ctx.out.status(format!("Created company {} ({}).", created.id, created.name));
            ctx.out.record(&created, &record_columns())
        }
        CompanyCommand::Update { company: key, fields } => {
            let mut input = fields.input();
            if input.is_empty() {
                let current = company::show(session, &key)?;
                match edit(
                    ctx,
                    "the company",
                    &company::CompanyInput::from_company(&current),
                    "--name, --size, --industry…",
                )? {
                    Some(patch) => input = patch,
                    None => {
                        ctx.out.status("No changes.");
                        return Ok(());
                    }
                }
            }
            let updated = company::update(session, &key, &input)?;
            ctx.out.status(format!("Updated company {}.", updated.id));
            ctx.out.record(&updated, &record_columns())
        }
    }
}
