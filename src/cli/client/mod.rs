//! `rolo client …`: clients, their companies and interactions. The clap tree of `client` is
//! here; companies, interactions and the card each have their file.

mod card;
mod company;
mod field;
mod group;
mod interaction;
mod segment;

use clap::{Args, Subcommand};

use super::Ctx;
use super::edit::edit;
use crate::Result;
use crate::domain::crm::Stage;

use super::import::{ImportArgs, run_export, run_import};
use crate::service::{Session, client, dedupe, import, population};

pub(super) const CLIENT_COLUMNS: &[&str] =
    &["id", "full_name", "email", "phone", "company", "stage", "sales_contact", "last_contact_at"];

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
        #[arg(allow_hyphen_values = true, long)]
        last_contact: Option<String>,
    },
    /// Move a client along subscriber → lead → qualified → opportunity → won | lost
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
    Company(company::CompanyCommand),
    /// Custom profile fields: the registry
    #[command(subcommand)]
    Field(field::FieldCommand),
    /// Static groups of clients
    #[command(subcommand)]
    Group(group::GroupCommand),
    /// Saved filters over clients; count them, freeze them into groups
    #[command(subcommand)]
    Segment(segment::SegmentCommand),
    /// Calls, meetings, e-mails… with a client
    #[command(subcommand)]
    Interaction(interaction::InteractionCommand),
    /// Personal data (GDPR): the consent ledger
    #[command(subcommand)]
    Privacy(PrivacyCommand),
}

#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Every change of the client's marketing consent, oldest first: source, user, what it was
    /// about (JSON keys: id, client_id, consent, previous, source, detail, text_hash, actor,
    /// created_at)
    Consent {
        /// The client (id or e-mail)
        client: String,
    },
    /// Everything held about the person, as one JSON document with a format version (card,
    /// fields, consent, interactions, contracts, events, tickets, campaign messages and their
    /// tracking, suppressions, audit entries); the file is written 0600
    Export {
        /// The client (id or e-mail)
        client: String,
        /// Write the document to this file instead of standard output
        #[arg(short = 'o', long)]
        output: Option<std::path::PathBuf>,
    },
    /// Erase the person everywhere, in one transaction (the card keeps only what its contracts
    /// need; history, tracking, consent and accounts go; free text and audit entries are
    /// scrubbed of their name, e-mail and phone; the mailbox stays suppressed as a salted hash).
    /// A signed contract with money due refuses it (exit 7) unless an admin passes --force.
    /// (JSON keys: client_id, records, scrubbed, audit_entries_redacted, legal_hold_overridden,
    /// wal_truncated)
    Erase {
        /// The client (id or e-mail)
        client: String,
        /// Do not ask for confirmation (required without a terminal)
        #[arg(long)]
        yes: bool,
        /// Erase despite a legal hold (admin only)
        #[arg(long)]
        force: bool,
    },
    /// Erase every person with no contract, ticket, interaction, login, open, click or sign-up
    /// for a period; people under a legal hold are listed and kept. Run it with --dry-run
    /// first. (JSON keys: cutoff, dry_run, inactive (id, name, last_activity, legal_hold),
    /// erased, held, audit_entries_redacted, wal_truncated)
    Purge {
        /// The retention period: 3y, 18mo, 90d (at least 30 days)
        #[arg(long, value_name = "PERIOD")]
        inactive_for: String,
        /// Only list who would be erased
        #[arg(long)]
        dry_run: bool,
        /// Do not ask for confirmation (required without a terminal)
        #[arg(long)]
        yes: bool,
    },
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

pub fn run(ctx: &Ctx, cmd: ClientCommand) -> Result<()> {
    let db = ctx.open_db()?;
    let session = ctx.session(&db)?;
    match cmd {
        ClientCommand::List { mine, stage, company, sales, search, limit } => {
            let mut out = ctx.out.lister(CLIENT_COLUMNS, "No clients match.", None);
            client::list_each(&session, &client::ListFilter { mine, stage, company, sales, search, limit }, |c| {
                out.push(&c)
            })?;
            out.finish()
        }
        ClientCommand::Show { client: key } => {
            let detail = client::show(&session, &key)?;
            let card = card::card(&detail);
            ctx.out.record_with(&detail, CLIENT_COLUMNS, Some(card))
        }
        ClientCommand::Create(a) => create(ctx, &session, a),
        ClientCommand::Update { client: key, fields: a, sales_contact, last_contact } => {
            update(ctx, &session, &key, a, sales_contact, last_contact)
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
            let text = card::stats_card(&s);
            ctx.out.record_with(&s, &["clients", "customers", "duplicates_suspected"], Some(text))
        }
        ClientCommand::Company(cmd) => company::run(ctx, &session, cmd),
        ClientCommand::Field(cmd) => field::run(ctx, &session, cmd),
        ClientCommand::Group(cmd) => group::run(ctx, &session, cmd),
        ClientCommand::Segment(cmd) => segment::run(ctx, &session, cmd),
        ClientCommand::Interaction(cmd) => interaction::run(ctx, &session, cmd),
        ClientCommand::Privacy(PrivacyCommand::Consent { client }) => ctx.out.list(
            &crate::service::consent::history(&session, &client)?,
            &["created_at", "consent", "previous", "source", "actor", "detail"],
            "No consent change is recorded for this client.",
        ),
        ClientCommand::Privacy(PrivacyCommand::Export { client, output }) => {
            let doc = crate::service::privacy::export(&session, &client)?;
            let mut text = serde_json::to_string_pretty(&doc)?;
            text.push('\n');
            match output {
                Some(path) => {
                    write_private(&path, text.as_bytes())?;
                    ctx.out.status(format!("Exported to {} (personal data: keep it safe).", path.display()));
                    Ok(())
                }
                None => crate::cli::output::raw(text.as_bytes()),
            }
        }
        ClientCommand::Privacy(PrivacyCommand::Erase { client: key, yes, force }) => {
            let target = client::show(&session, &key)?.client;
            let question =
                format!("Erase client {} ({}) everywhere? This cannot be undone", target.id, target.full_name);
            if !ctx.prompt.confirm(&question, yes)? {
                ctx.out.status("Nothing erased.");
                return Ok(());
            }
            let done = crate::service::privacy::erase(&session, &key, force)?;
            ctx.out.status(format!(
                "Erased client {}: {} audit entries redacted; the mailbox stays on the suppression list as a salted hash.",
                done.client_id, done.audit_entries_redacted
            ));
            if !done.wal_truncated {
                ctx.out.warn(
                    "another process is reading the database: the write-ahead log empties at its next checkpoint",
                );
            }
            ctx.out
                .record(&done, &["client_id", "records", "scrubbed", "audit_entries_redacted", "legal_hold_overridden"])
        }
        ClientCommand::Privacy(PrivacyCommand::Purge { inactive_for, dry_run, yes }) => {
            use crate::service::privacy::purge;
            // With --yes there is nothing to ask: one pass. Otherwise the dry run tells how
            // many the question is about.
            let report = if dry_run || yes {
                purge(&session, &inactive_for, dry_run)?
            } else {
                let listed = purge(&session, &inactive_for, true)?;
                let erasable = listed.inactive.len() - listed.held;
                if erasable == 0 {
                    listed
                } else if ctx
                    .prompt
                    .confirm(&format!("Erase {erasable} inactive people? This cannot be undone"), yes)?
                {
                    purge(&session, &inactive_for, false)?
                } else {
                    ctx.out.status("Nothing erased.");
                    return Ok(());
                }
            };
            let erasable = report.inactive.len() - report.held;
            ctx.out.status(if report.dry_run {
                format!(
                    "{} inactive since {} would be erased; {} kept under a legal hold (dry run: nothing changed).",
                    erasable, report.cutoff, report.held
                )
            } else {
                format!(
                    "Erased {} inactive since {}; {} kept under a legal hold.",
                    report.erased, report.cutoff, report.held
                )
            });
            if ctx.out.format == crate::cli::output::Format::Table {
                return ctx.out.list(
                    &report.inactive,
                    &["id", "name", "last_activity", "legal_hold"],
                    "Nobody is inactive for that long.",
                );
            }
            ctx.out.record(&report, &["cutoff", "dry_run", "erased", "held"])
        }
    }
}

/// `client create`: prompts on a terminal for what the flags did not give.
fn create(ctx: &Ctx, session: &Session, a: ClientArgs) -> Result<()> {
    let stages: Vec<&str> = Stage::ALL.iter().map(|s| s.as_str()).collect();
    let input =
        client::ClientInput {
            name: Some(ctx.prompt.text(a.name, "Full name", "--name")?),
            email: Some(ctx.prompt.text_checked(a.email, "E-mail", "--email", |v| {
                crate::domain::validate::email("email", v).map(|_| ())
            })?),
            phone: ctx.prompt.optional(a.phone, "Phone (optional)")?,
            company: ctx.prompt.optional(a.company, "Company (optional)")?,
            stage: match a.stage {
                Some(s) => Some(s),
                None if ctx.prompt.interactive => Some(ctx.prompt.select(None, "Stage", &stages[1..], "--stage")?),
                None => None,
            },
            first_contact: a.first_contact,
            consent: a.consent,
            fields: a.fields.into_iter().collect(),
            ..Default::default()
        };
    let created = client::create(session, &input)?;
    ctx.out.status(format!("Created client {} ({}); you are the sales contact.", created.id, created.full_name));
    ctx.out.record(&created, CLIENT_COLUMNS)
}

/// `client update`: the flags, or the record as TOML in $EDITOR when no flag is given.
fn update(
    ctx: &Ctx,
    session: &Session,
    key: &str,
    a: ClientArgs,
    sales_contact: Option<String>,
    last_contact: Option<String>,
) -> Result<()> {
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
        let current = client::show(session, key)?.client;
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
    let updated = client::update(session, key, &input)?;
    ctx.out.status(format!("Updated client {}.", updated.id));
    ctx.out.record(&updated, CLIENT_COLUMNS)
}

/// Writes a file only its owner may read (0600 from its creation).
fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| crate::Error::usage(format!("cannot write {}: {e}", path.display())))?;
    // An existing file keeps its mode on open: narrowed too.
    f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}
