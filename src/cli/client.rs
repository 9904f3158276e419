//! `rolo client …`: clients, their companies and interactions.

use clap::{Args, Subcommand};
use comfy_table::Table;

use super::Ctx;
use super::edit::edit;
use super::output::{new_table, when};
use crate::Result;
use crate::domain::crm::{InteractionKind, Stage};

use super::population::{
    CLIENT_COLUMNS, FieldCommand, GroupCommand, ImportArgs, SegmentCommand, run_export, run_field, run_group,
    run_import, run_segment,
};
use crate::service::{Session, client, company, dedupe, import, population};

const COMPANY_COLUMNS: &[&str] =
    &["id", "name", "size", "industry", "business_type", "country", "sales_owner", "clients"];
const COMPANY_RECORD: &[&str] = &[
    "id",
    "name",
    "logo",
    "size",
    "industry",
    "business_type",
    "country",
    "website",
    "time_zone",
    "total_income",
    "currency",
    "sales_owner",
    "clients",
    "created_at",
    "updated_at",
];
const INTERACTION_COLUMNS: &[&str] = &["id", "at", "type", "client_name", "author", "notes"];

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// List clients, by name (JSON keys: id, full_name, email, phone, company_id, company,
    /// sales_contact_id, sales_contact, sales_contact_name, stage, customer, first_contact_at,
    /// last_contact_at, created_at, updated_at, consent, fields)
    List {
        /// Only my clients (I am their sales contact)
        #[arg(long)]
        mine: bool,
        /// Only this lifecycle stage: subscriber, lead, qualified, opportunity, won, lost
        #[arg(long)]
        stage: Option<String>,
        /// Only clients of this company (id or exact name)
        #[arg(long)]
        company: Option<String>,
        /// Only clients of this sales contact (username)
        #[arg(long)]
        sales: Option<String>,
        /// Name, e-mail, phone or company containing TEXT (accents and case ignored)
        #[arg(long)]
        search: Option<String>,
        /// At most N clients
        #[arg(long)]
        limit: Option<u32>,
    },
    /// A client's card with contracts, last interactions and stage history (by id or e-mail)
    Show {
        /// The client (id or e-mail)
        client: String,
    },
    /// Create a client; you become its sales contact
    Create(ClientArgs),
    /// Change a client (your own, or any with client:update:any); no flag opens $EDITOR
    Update {
        /// The client to change (id or e-mail)
        client: String,
        #[command(flatten)]
        fields: ClientArgs,
        /// Reassign the sales contact (username; needs client:update:any)
        #[arg(long)]
        sales_contact: Option<String>,
        /// Date of the last update/contact
        #[arg(long)]
        last_contact: Option<String>,
    },
    /// Move a client along subscriber → lead → qualified → opportunity → won | lost
    /// The new stage: subscriber, lead, qualified, opportunity, won or lost
    Stage {
        /// The client (id or e-mail)
        client: String,
        /// The new stage: subscriber, lead, qualified, opportunity, won or lost
        stage: String,
    },
    /// Delete a client that has no contracts
    Delete {
        /// The client to delete (id or e-mail)
        client: String,
        /// Do not ask for confirmation (required without a terminal)
        #[arg(long)]
        yes: bool,
    },
    /// Import clients from CSV (`,` `;` tab; UTF-8 or Windows-1252), JSON lines or .xlsx: all
    /// rows or none. Columns: name,email,phone,company,stage,first_contact,last_contact,
    /// sales_contact,consent and custom field keys. Report keys: format, encoding, rows_read,
    /// created, updated, unchanged, skipped, rejected, companies_created, group, grouped,
    /// dry_run, written, ignored_columns, rejections (line, field, reason)
    Import {
        #[command(flatten)]
        args: ImportArgs,
        /// Put every client of the file in this group (created, kind `imported`, when new;
        /// needs group:manage)
        #[arg(long)]
        group: Option<String>,
    },
    /// Export every client in the import columns (CSV by default, JSON lines with --format json)
    Export,
    /// Likely duplicates, strongest first (JSON keys: keep_id, keep_name, keep_email, other_id,
    /// other_name, other_email, reason, score)
    Dedupe {
        /// At most N pairs
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Merge DROP into KEEP: contracts, interactions, stage history and client accounts move,
    /// empty fields are filled, DROP is deleted
    Merge {
        /// The client that stays (id or e-mail)
        keep: String,
        /// The duplicate that is merged into KEEP and deleted (id or e-mail)
        drop: String,
        /// Do not ask for confirmation (required without a terminal)
        #[arg(long)]
        yes: bool,
    },
    /// The population at a glance: stages, companies, completeness, duplicates, growth
    /// (JSON keys: clients, customers, by_stage, by_company, completeness, duplicates_suspected,
    /// growth_by_month)
    Stats,
    /// Companies (firms) that clients belong to
    #[command(subcommand)]
    Company(CompanyCommand),
    /// Custom profile fields: the registry
    #[command(subcommand)]
    Field(FieldCommand),
    /// Static groups of clients
    #[command(subcommand)]
    Group(GroupCommand),
    /// Saved filters over clients; count them, freeze them into groups
    #[command(subcommand)]
    Segment(SegmentCommand),
    /// Calls, meetings, e-mails… with a client
    #[command(subcommand)]
    Interaction(InteractionCommand),
}

#[derive(Debug, Args, Default)]
pub struct ClientArgs {
    /// Full name
    #[arg(long)]
    name: Option<String>,
    /// E-mail address (unique among clients)
    #[arg(long)]
    email: Option<String>,
    /// Phone, kept as typed ("+678 123 456 78"); searchable by its digits
    #[arg(long)]
    phone: Option<String>,
    /// Company (id or exact name); a new name creates the company when you may
    #[arg(long)]
    company: Option<String>,
    /// Lifecycle stage (default lead)
    #[arg(long)]
    stage: Option<String>,
    /// Date of first contact (default now)
    #[arg(long)]
    first_contact: Option<String>,
    /// E-mail marketing consent: unknown, granted or withdrawn
    #[arg(long)]
    consent: Option<String>,
    /// A custom field value, KEY=VALUE (repeat the flag; an empty value clears the field)
    #[arg(long = "field", value_name = "KEY=VALUE", value_parser = key_value)]
    fields: Vec<(String, String)>,
}

fn key_value(s: &str) -> std::result::Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE"))
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

#[derive(Debug, Subcommand)]
pub enum InteractionCommand {
    /// Log an interaction; the client's last contact moves to its date
    Add {
        /// The client (id or e-mail)
        #[arg(long)]
        client: Option<String>,
        /// phone_call, meeting, email, chat, social_media, event_attendance, sale, support_request, survey
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<String>,
        /// When it happened (default now)
        #[arg(long)]
        date: Option<String>,
        /// What was said or done
        #[arg(long)]
        notes: Option<String>,
    },
    /// Newest first (JSON keys: id, client_id, client_name, type, at, notes, author, created_at)
    List {
        /// Only this client's (id or e-mail), like every other noun's positional record
        #[arg(value_name = "CLIENT", conflicts_with = "client")]
        for_client: Option<String>,
        /// Only this client's (id or e-mail); same as the positional CLIENT
        #[arg(long)]
        client: Option<String>,
        /// Only those I logged
        #[arg(long)]
        mine: bool,
        /// Only this type: phone_call, meeting, email, chat, social_media, event_attendance, sale, support_request, survey
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<String>,
        /// At most N interactions
        #[arg(long)]
        limit: Option<u32>,
    },
}

pub fn run(ctx: &Ctx, cmd: ClientCommand) -> Result<()> {
    let db = ctx.open_db()?;
    let session = ctx.session(&db)?;
    match cmd {
        ClientCommand::List { mine, stage, company, sales, search, limit } => {
            let clients = client::list(&session, &client::ListFilter { mine, stage, company, sales, search, limit })?;
            ctx.out.list(&clients, CLIENT_COLUMNS, "No clients match.")
        }
        ClientCommand::Show { client: key } => {
            let detail = client::show(&session, &key)?;
            let card = card(&detail);
            ctx.out.record_with(&detail, CLIENT_COLUMNS, Some(card))
        }
        ClientCommand::Create(a) => {
            let stages: Vec<&str> = Stage::ALL.iter().map(|s| s.as_str()).collect();
            let input = client::ClientInput {
                name: Some(ctx.prompt.text(a.name, "Full name", "--name")?),
                email: Some(ctx.prompt.text_checked(a.email, "E-mail", "--email", |v| {
                    crate::domain::validate::email("email", v).map(|_| ())
                })?),
                phone: ctx.prompt.optional(a.phone, "Phone (optional)")?,
                company: ctx.prompt.optional(a.company, "Company (optional)")?,
                stage: match a.stage {
                    Some(s) => Some(s),
                    None if ctx.prompt.interactive => {
                        Some(ctx.prompt.select(None, "Stage", &stages[1..], "--stage")?)
                    }
                    None => None,
                },
                first_contact: a.first_contact,
                consent: a.consent,
                fields: a.fields.into_iter().collect(),
                ..Default::default()
            };
            let created = client::create(&session, &input)?;
            ctx.out
                .status(format!("Created client {} ({}); you are the sales contact.", created.id, created.full_name));
            ctx.out.record(&created, CLIENT_COLUMNS)
        }
        ClientCommand::Update { client: key, fields: a, sales_contact, last_contact } => {
            let mut input = client::ClientInput {
                name: a.name,
                email: a.email,
                phone: a.phone,
                company: a.company,
                sales_contact,
                stage: a.stage,
                first_contact: a.first_contact,
                last_contact,
                consent: a.consent,
                fields: a.fields.into_iter().collect(),
            };
            if input.is_empty() {
                let current = client::show(&session, &key)?.client;
                match edit(
                    ctx,
                    "the client",
                    &client::ClientInput::from_client(&current),
                    "--name, --email, --phone, --company…",
                )? {
                    Some(patch) => input = patch,
                    None => {
                        ctx.out.status("No changes.");
                        return Ok(());
                    }
                }
            }
            let updated = client::update(&session, &key, &input)?;
            ctx.out.status(format!("Updated client {}.", updated.id));
            ctx.out.record(&updated, CLIENT_COLUMNS)
        }
        ClientCommand::Stage { client: key, stage } => {
            let updated = client::set_stage(&session, &key, &stage)?;
            ctx.out.status(format!("Client {} is now at stage `{}`.", updated.id, updated.stage));
            ctx.out.record(&updated, CLIENT_COLUMNS)
        }
        ClientCommand::Delete { client: key, yes } => {
            let target = client::show(&session, &key)?.client;
            if !ctx.prompt.confirm(&format!("Delete client {} ({})?", target.id, target.full_name), yes)? {
                ctx.out.status("Nothing deleted.");
                return Ok(());
            }
            let deleted = client::delete(&session, &key)?;
            ctx.out.status(format!("Deleted client {} ({}).", deleted.id, deleted.full_name));
            ctx.out.record(&deleted, CLIENT_COLUMNS)
        }
        ClientCommand::Import { args, group } => {
            run_import(ctx, &session, args, group, "clients", &|s, input, opts, progress| {
                import::import_clients(s, input, opts, progress)
            })
        }
        ClientCommand::Export => run_export(ctx, &import::client_export_columns(&session)?, "clients", &|emit| {
            import::export_clients(&session, emit)
        }),
        ClientCommand::Dedupe { limit } => ctx.out.list(
            &dedupe::dedupe(&session, limit)?,
            &["score", "keep_id", "keep_name", "other_id", "other_name", "reason"],
            "No likely duplicates.",
        ),
        ClientCommand::Merge { keep, drop, yes } => {
            let question = format!("Merge client {drop} into {keep} and delete {drop}?");
            if !ctx.prompt.confirm(&question, yes)? {
                ctx.out.status("Nothing merged.");
                return Ok(());
            }
            let m = dedupe::merge(&session, &keep, &drop)?;
            ctx.out.status(format!(
                "Merged client {} into {} ({} contract(s), {} interaction(s) moved).",
                m.merged_from, m.client.id, m.contracts_moved, m.interactions_moved
            ));
            ctx.out.record(&m, CLIENT_COLUMNS)
        }
        ClientCommand::Stats => {
            let s = population::stats(&session)?;
            let text = stats_card(&s);
            ctx.out.record_with(&s, &["clients", "customers", "duplicates_suspected"], Some(text))
        }
        ClientCommand::Company(cmd) => run_company(ctx, &session, cmd),
        ClientCommand::Field(cmd) => run_field(ctx, &session, cmd),
        ClientCommand::Group(cmd) => run_group(ctx, &session, cmd),
        ClientCommand::Segment(cmd) => run_segment(ctx, &session, cmd),
        ClientCommand::Interaction(cmd) => run_interaction(ctx, &session, cmd),
    }
}

fn run_company(ctx: &Ctx, session: &Session, cmd: CompanyCommand) -> Result<()> {
    match cmd {
        CompanyCommand::Import(args) => {
            run_import(ctx, session, args, None, "companies", &|s, input, opts, progress| {
                import::import_companies(s, input, opts, progress)
            })
        }
        CompanyCommand::Export => {
            run_export(ctx, import::COMPANY_EXPORT, "companies", &|emit| import::export_companies(session, emit))
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
        CompanyCommand::Show { company: key } => ctx.out.record(&company::show(session, &key)?, COMPANY_RECORD),
        CompanyCommand::Create(mut a) => {
            a.name = Some(ctx.prompt.text(a.name, "Company name", "--name")?);
            let created = company::create(session, &a.input())?;
            ctx.out.status(format!("Created company {} ({}).", created.id, created.name));
            ctx.out.record(&created, COMPANY_RECORD)
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
            ctx.out.record(&updated, COMPANY_RECORD)
        }
    }
}

fn run_interaction(ctx: &Ctx, session: &Session, cmd: InteractionCommand) -> Result<()> {
    match cmd {
        InteractionCommand::Add { client: c, kind, date, notes } => {
            let kinds: Vec<&str> = InteractionKind::ALL.iter().map(|k| k.as_str()).collect();
            let input = client::NewInteraction {
                client: ctx.prompt.text(c, "Client (id or e-mail)", "--client")?,
                kind: ctx.prompt.select(kind, "Type", &kinds, "--type")?,
                at: date,
                notes: ctx.prompt.optional(notes, "Notes (optional)")?.unwrap_or_default(),
            };
            let created = client::add_interaction(session, &input)?;
            ctx.out.status(format!("Logged {} with {}.", created.kind, created.client_name));
            ctx.out.record(&created, INTERACTION_COLUMNS)
        }
        InteractionCommand::List { for_client, client: c, mine, kind, limit } => {
            let c = for_client.or(c);
            let items =
                client::list_interactions(session, &client::InteractionFilter { client: c, mine, kind, limit })?;
            ctx.out.list(&items, INTERACTION_COLUMNS, "No interactions match.")
        }
    }
}

/// The client card: identity first, then contracts and the last interactions.
fn card(d: &client::ClientDetail) -> String {
    let c = &d.client;
    let mut t = new_table();
    let stage = if c.customer { format!("{} (customer)", c.stage) } else { c.stage.clone() };
    for (k, v) in [
        ("Client", format!("{} (#{})", c.full_name, c.id)),
        ("E-mail", c.email.clone()),
        ("Phone", c.phone.clone().unwrap_or_default()),
        ("Company", c.company.clone().unwrap_or_default()),
        ("Stage", stage),
        ("Sales contact", c.sales_contact_name.clone().unwrap_or_else(|| "(none)".into())),
        ("First contact", when(&c.first_contact_at)),
        ("Last update/contact", c.last_contact_at.as_deref().map(when).unwrap_or_default()),
        ("Consent", c.consent.clone()),
        ("Groups", d.groups.join(", ")),
    ] {
        t.add_row(vec![k.to_string(), v]);
    }
    for f in &d.fields {
        let v = c.fields.get(&f.key).map(crate::domain::profile::display).unwrap_or_default();
        t.add_row(vec![f.label.clone(), v]);
    }
    let mut out = t.to_string();
    if !d.contracts.is_empty() {
        let mut k = Table::new();
        k.load_preset(comfy_table::presets::NOTHING);
        k.set_header(vec!["contract", "total", "due", "signed"]);
        for x in &d.contracts {
            k.add_row(vec![
                format!("#{}", x.id),
                format!("{} {}", x.total, x.currency),
                x.due.clone(),
                if x.signed { "yes".into() } else { "no".into() },
            ]);
        }
        out.push_str(&format!("\nContracts\n{k}"));
    }
    if !d.interactions.is_empty() {
        let mut i = Table::new();
        i.load_preset(comfy_table::presets::NOTHING);
        i.set_header(vec!["when", "type", "by", "notes"]);
        for x in &d.interactions {
            i.add_row(vec![when(&x.at), x.kind.clone(), x.author.clone().unwrap_or_default(), x.notes.clone()]);
        }
        out.push_str(&format!("\nLast interactions\n{i}"));
    }
    out
}

fn stats_card(s: &population::Stats) -> String {
    let mut out = format!(
        "{} clients, {} customers, {} likely duplicate pair(s)\n",
        s.clients, s.customers, s.duplicates_suspected
    );
    let section = |title: &str, rows: Vec<(String, String)>| {
        let mut t = new_table();
        t.set_header(vec![title.to_string(), String::new()]);
        for (k, v) in rows {
            t.add_row(vec![k, v]);
        }
        format!("{t}\n")
    };
    out.push_str(&section("Stage", s.by_stage.iter().map(|c| (c.key.clone(), c.clients.to_string())).collect()));
    out.push_str(&section("Company", s.by_company.iter().map(|c| (c.key.clone(), c.clients.to_string())).collect()));
    out.push_str(&section(
        "Filled in",
        s.completeness.iter().map(|(k, v)| (k.replace('_', " "), format!("{v}%"))).collect(),
    ));
    out.push_str(&section(
        "First contact",
        s.growth_by_month.iter().map(|c| (c.key.clone(), c.clients.to_string())).collect(),
    ));
    out.trim_end().to_string()
}
