//! `rolo client field|group|segment …`, and the import/export glue every entity shares.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::{Map, Value};

use super::Ctx;
use super::output::Exporter;
use crate::Result;
use crate::service::{Session, field, group, import};

pub(super) const CLIENT_COLUMNS: &[&str] =
    &["id", "full_name", "email", "phone", "company", "stage", "sales_contact", "last_contact_at"];
const FIELD_COLUMNS: &[&str] =
    &["key", "label", "kind", "choices", "mandatory", "public", "origin", "personal_data", "filled"];
const GROUP_COLUMNS: &[&str] = &["id", "name", "kind", "members", "description", "updated_at"];
const SEGMENT_COLUMNS: &[&str] = &["id", "name", "filter", "description", "updated_at"];

/// The flags of every `… import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file: CSV, JSON lines or .xlsx (`-` reads stdin)
    file: PathBuf,
    /// Check and report without writing
    #[arg(long)]
    dry_run: bool,
    /// A record that already exists: skip it, update it, or reject the row
    #[arg(long, value_enum, default_value_t = OnDuplicateArg::Skip)]
    on_duplicate: OnDuplicateArg,
    /// A TOML file mapping other headers: [columns] "Nom complet" = "name"
    #[arg(long, value_name = "MAP.toml")]
    map: Option<PathBuf>,
}

/// `--on-duplicate`: the command-line face of [`import::OnDuplicate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OnDuplicateArg {
    /// Leave the existing record alone
    Skip,
    /// Update the existing record with the row's non-empty values
    Update,
    /// Reject the row
    Error,
}

impl From<OnDuplicateArg> for import::OnDuplicate {
    fn from(a: OnDuplicateArg) -> Self {
        match a {
            OnDuplicateArg::Skip => import::OnDuplicate::Skip,
            OnDuplicateArg::Update => import::OnDuplicate::Update,
            OnDuplicateArg::Error => import::OnDuplicate::Error,
        }
    }
}

type ImportFn<'a> =
    dyn Fn(&Session, Box<dyn std::io::Read>, &import::Options, &mut dyn FnMut(u64)) -> Result<import::Report> + 'a;

/// Reads the file and the mapping, runs the import with a progress bar on a terminal, prints
/// the report, and fails (exit 3) when any row was rejected.
pub(super) fn run_import(
    ctx: &Ctx,
    session: &Session,
    args: ImportArgs,
    group: Option<String>,
    what: &'static str,
    import: &ImportFn,
) -> Result<()> {
    let mapping = match &args.map {
        Some(p) => import::parse_mapping(
            &std::fs::read_to_string(p)
                .map_err(|e| crate::Error::invalid("map", format!("cannot read {}: {e}", p.display())))?,
        )?,
        None => Default::default(),
    };
    let input: Box<dyn std::io::Read> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(&args.file)
                .map_err(|e| crate::Error::invalid("file", format!("cannot open {}: {e}", args.file.display())))?,
        )
    };
    let opts = import::Options { dry_run: args.dry_run, on_duplicate: args.on_duplicate.into(), mapping, group };
    let bar = ctx.out.progress("rows read");
    let report = import(session, input, &opts, &mut |n| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let report = report?;
    print_report(ctx, &report)?;
    if report.rejected > 0 {
        return Err(crate::Error::new(
            crate::ErrorKind::Invalid,
            format!("{} of {} rows rejected; nothing was imported", report.rejected, report.rows_read),
        ));
    }
    ctx.out.status(if report.dry_run {
        format!(
            "Dry run: {} rows checked, {} {what} would be created and {} updated; nothing was written.",
            report.rows_read, report.created, report.updated
        )
    } else {
        let grouped = match &report.group {
            Some(g) => format!("; {} joined the group `{g}`", report.grouped),
            None => String::new(),
        };
        format!(
            "Imported {} rows: {} {what} created, {} updated, {} unchanged, {} skipped{grouped}.",
            report.rows_read, report.created, report.updated, report.unchanged, report.skipped
        )
    });
    Ok(())
}

fn print_report(ctx: &Ctx, r: &import::Report) -> Result<()> {
    match ctx.out.format {
        super::Format::Json => ctx.out.record(r, super::output::NO_COLUMNS),
        super::Format::Csv => ctx.out.list(&r.rejections, &["line", "field", "reason"], ""),
        super::Format::Table => {
            let summary = format!(
                "{} rows read ({} {}): {} created, {} updated, {} unchanged, {} skipped, {} rejected{}",
                r.rows_read,
                r.format,
                r.encoding,
                r.created,
                r.updated,
                r.unchanged,
                r.skipped,
                r.rejected,
                if r.ignored_columns.is_empty() {
                    String::new()
                } else {
                    format!("; ignored columns: {}", r.ignored_columns.join(", "))
                }
            );
            ctx.out.status(summary);
            if r.rejections.is_empty() { Ok(()) } else { ctx.out.list(&r.rejections, &["line", "field", "reason"], "") }
        }
    }
}

type ExportFn<'a> = dyn Fn(&mut dyn FnMut(&Map<String, Value>) -> Result<()>) -> Result<usize> + 'a;

/// Streams an export in the import columns: CSV by default, JSON lines with `--format json`.
pub(super) fn run_export(ctx: &Ctx, columns: &[impl AsRef<str>], what: &str, export: &ExportFn) -> Result<()> {
    let mut exporter = Exporter::new(ctx.out.format, columns)?;
    let n = export(&mut |row| exporter.write(row))?;
    exporter.finish()?;
    ctx.out.status(format!("Exported {n} {what}."));
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum FieldCommand {
    /// The registry of custom client fields (JSON keys: id, key, label, kind, choices, mandatory,
    /// public, origin, personal_data, filled, created_at, updated_at)
    List,
    /// One field
    Show {
        /// The field key
        key: String,
    },
    /// Register a field: KEY is a-z, 0-9 and _, e.g. `sector`
    Create {
        /// The new field's key: 1-40 of a-z, 0-9 and _, starting with a letter
        key: String,
        #[command(flatten)]
        def: FieldArgs,
    },
    /// Change a field's label, type, choices or flags (every stored value must still fit)
    Update {
        /// The field key
        key: String,
        #[command(flatten)]
        def: FieldArgs,
    },
    /// Delete a community field and every client's value of it
    Delete {
        /// The field key
        key: String,
        /// Do not ask for confirmation (required without a terminal)
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub struct FieldArgs {
    /// What people read, e.g. "Business sector"
    #[arg(long)]
    label: Option<String>,
    /// text, number, date, bool or choice
    #[arg(long = "type", value_name = "TYPE")]
    kind: Option<String>,
    /// For a choice field: the accepted values, comma-separated
    #[arg(long)]
    choices: Option<String>,
    /// Every client must have a value (`--mandatory false` to relax)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    mandatory: Option<bool>,
    /// May appear in e-mails and the preference centre (default private)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    public: Option<bool>,
    /// Personal data under the GDPR (exported and erased with the person)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    personal_data: Option<bool>,
    /// system (part of Rolo's model: never deleted) or community (free; the default)
    #[arg(long)]
    origin: Option<String>,
}

impl FieldArgs {
    fn input(self) -> field::FieldInput {
        field::FieldInput {
            label: self.label,
            kind: self.kind,
            choices: self.choices,
            mandatory: self.mandatory,
            public: self.public,
            origin: self.origin,
            personal_data: self.personal_data,
        }
    }
}

pub(super) fn run_field(ctx: &Ctx, session: &Session, cmd: FieldCommand) -> Result<()> {
    match cmd {
        FieldCommand::List => ctx.out.list(&field::list(session)?, FIELD_COLUMNS, "No custom fields yet."),
        FieldCommand::Show { key } => ctx.out.record(&field::show(session, &key)?, FIELD_COLUMNS),
        FieldCommand::Create { key, def } => {
            let f = field::create(session, &key, &def.input())?;
            ctx.out.status(format!("Created field `{}` ({}).", f.def.key, f.def.kind));
            ctx.out.record(&f, FIELD_COLUMNS)
        }
        FieldCommand::Update { key, def } => {
            let f = field::update(session, &key, &def.input())?;
            ctx.out.status(format!("Updated field `{}`.", f.def.key));
            ctx.out.record(&f, FIELD_COLUMNS)
        }
        FieldCommand::Delete { key, yes } => {
            let question = format!("Delete field `{key}` and every client's value of it?");
            if !ctx.prompt.confirm(&question, yes)? {
                ctx.out.status("Nothing deleted.");
                return Ok(());
            }
            let (f, cleared) = field::delete(session, &key)?;
            ctx.out.status(format!("Deleted field `{}`; {cleared} client value(s) removed.", f.def.key));
            ctx.out.record(&f, FIELD_COLUMNS)
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Groups by name (JSON keys: id, name, kind, description, segment, members, created_at,
    /// created_by, updated_at)
    List,
    /// A group and its members
    Show {
        /// Name or id
        group: String,
        /// List at most N members
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Create an empty group
    Create {
        /// The group's name (unique, case ignored)
        name: String,
        /// custom (default) or system (never deleted)
        #[arg(long)]
        kind: Option<String>,
        /// What the group is for
        #[arg(long)]
        description: Option<String>,
    },
    /// Add clients (ids or e-mails) to a group
    Add {
        /// The group (name or id)
        group: String,
        /// Clients to add (ids or e-mails)
        #[arg(required = true)]
        clients: Vec<String>,
    },
    /// Remove clients (ids or e-mails) from a group
    Remove {
        /// The group (name or id)
        group: String,
        /// Clients to remove (ids or e-mails)
        #[arg(required = true)]
        clients: Vec<String>,
    },
    /// Delete a group (its clients stay)
    Delete {
        /// The group to delete (name or id)
        group: String,
        /// Do not ask for confirmation (required without a terminal)
        #[arg(long)]
        yes: bool,
    },
}

pub(super) fn run_group(ctx: &Ctx, session: &Session, cmd: GroupCommand) -> Result<()> {
    match cmd {
        GroupCommand::List => ctx.out.list(&group::list(session)?, GROUP_COLUMNS, "No groups yet."),
        GroupCommand::Show { group: key, limit } => {
            let d = group::show(session, &key, limit)?;
            if ctx.out.format == super::Format::Json {
                return ctx.out.record(&d, super::output::NO_COLUMNS);
            }
            ctx.out.status(format!("Group `{}` ({}): {} member(s).", d.group.name, d.group.kind, d.group.members));
            ctx.out.list(&d.clients, CLIENT_COLUMNS, "No members.")
        }
        GroupCommand::Create { name, kind, description } => {
            let g = group::create(session, &name, kind.as_deref(), description.as_deref())?;
            ctx.out.status(format!("Created group {} ({}).", g.id, g.name));
            ctx.out.record(&g, GROUP_COLUMNS)
        }
        GroupCommand::Add { group: key, clients } => {
            let m = group::set_members(session, &key, &clients, true)?;
            ctx.out.status(format!("{} client(s) added to `{}` ({} already there).", m.changed, m.group, m.unchanged));
            ctx.out.record(&m, &["group", "changed", "unchanged"])
        }
        GroupCommand::Remove { group: key, clients } => {
            let m = group::set_members(session, &key, &clients, false)?;
            ctx.out.status(format!(
                "{} client(s) removed from `{}` ({} were not in it).",
                m.changed, m.group, m.unchanged
            ));
            ctx.out.record(&m, &["group", "changed", "unchanged"])
        }
        GroupCommand::Delete { group: key, yes } => {
            if !ctx.prompt.confirm(&format!("Delete group `{key}`? Its clients stay."), yes)? {
                ctx.out.status("Nothing deleted.");
                return Ok(());
            }
            let g = group::delete(session, &key)?;
            ctx.out.status(format!("Deleted group {} ({}).", g.id, g.name));
            ctx.out.record(&g, GROUP_COLUMNS)
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum SegmentCommand {
    /// Saved segments (JSON keys: id, name, filter, description, created_at, created_by, updated_at)
    List,
    /// The clients a segment selects now (or a --filter tried on the spot). JSON keys: name,
    /// filter, count, clients
    Show {
        /// Name or id of a saved segment
        segment: Option<String>,
        /// A filter to try without saving it
        #[arg(long, conflicts_with = "segment")]
        filter: Option<String>,
        /// Only how many clients it selects
        #[arg(long)]
        count: bool,
        /// List at most N clients
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Save a filter, e.g. --filter 'stage in (lead, qualified) and consent = granted and last_contact < -90d'
    ///
    /// Subjects: name, email, phone, stage, consent, company, sales, group, created,
    /// first_contact, last_contact, and custom field keys. Tests: = != < <= > >= ~ (contains),
    /// in (a, b), is [not] empty; joined with and, or, not and parentheses.
    Create {
        /// The segment's name (unique, case ignored)
        name: String,
        /// The filter, e.g. "stage in (lead, qualified) and consent = granted"
        #[arg(long)]
        filter: String,
        /// What the segment is for
        #[arg(long)]
        description: Option<String>,
    },
    /// Change a segment's filter or description
    Update {
        /// The segment (name or id)
        segment: String,
        /// A new filter
        #[arg(long)]
        filter: Option<String>,
        /// A new description
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a saved segment
    Delete {
        /// The segment to delete (name or id)
        segment: String,
        /// Do not ask for confirmation (required without a terminal)
        #[arg(long)]
        yes: bool,
    },
    /// Freeze the clients a segment selects now into a new group
    Freeze {
        /// The segment (name or id)
        segment: String,
        /// The new group's name
        #[arg(long)]
        into: String,
    },
}

pub(super) fn run_segment(ctx: &Ctx, session: &Session, cmd: SegmentCommand) -> Result<()> {
    match cmd {
        SegmentCommand::List => ctx.out.list(&group::list_segments(session)?, SEGMENT_COLUMNS, "No segments yet."),
        SegmentCommand::Show { segment, filter, count, limit } => {
            let r = group::run(session, segment.as_deref(), filter.as_deref(), count, limit)?;
            match (&r.clients, ctx.out.format) {
                (_, super::Format::Json) => ctx.out.record(&r, super::output::NO_COLUMNS),
                (None, _) => ctx.out.record(&r, &["name", "filter", "count"]),
                (Some(clients), _) => {
                    ctx.out.status(format!("{} client(s) match `{}`.", r.count, r.filter));
                    ctx.out.list(clients, CLIENT_COLUMNS, "No clients match.")
                }
            }
        }
        SegmentCommand::Create { name, filter, description } => {
            let s = group::create_segment(session, &name, &filter, description.as_deref())?;
            ctx.out.status(format!("Saved segment {} ({}).", s.id, s.name));
            ctx.out.record(&s, SEGMENT_COLUMNS)
        }
        SegmentCommand::Update { segment, filter, description } => {
            let s = group::update_segment(session, &segment, filter.as_deref(), description.as_deref())?;
            ctx.out.status(format!("Updated segment {} ({}).", s.id, s.name));
            ctx.out.record(&s, SEGMENT_COLUMNS)
        }
        SegmentCommand::Delete { segment, yes } => {
            if !ctx.prompt.confirm(&format!("Delete segment `{segment}`?"), yes)? {
                ctx.out.status("Nothing deleted.");
                return Ok(());
            }
            let s = group::delete_segment(session, &segment)?;
            ctx.out.status(format!("Deleted segment {} ({}).", s.id, s.name));
            ctx.out.record(&s, SEGMENT_COLUMNS)
        }
        SegmentCommand::Freeze { segment, into } => {
            let g = group::freeze(session, &segment, &into)?;
            ctx.out.status(format!(
                "Froze segment `{segment}` into group {} ({}): {} member(s).",
                g.id, g.name, g.members
            ));
            ctx.out.record(&g, GROUP_COLUMNS)
        }
    }
}
