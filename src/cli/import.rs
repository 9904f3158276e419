//! The import and export glue every entity shares: the flags of `… import`, the report, and
//! streaming an export to stdout.

use std::path::PathBuf;

use clap::Args;
use serde_json::{Map, Value};

use super::Ctx;
use super::output::Exporter;
use crate::Result;
use crate::service::{Session, import};

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
pub(crate) fn run_import(
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
        crate::cli::Format::Json => ctx.out.record(r, crate::cli::output::NO_COLUMNS),
        crate::cli::Format::Csv => ctx.out.list(&r.rejections, &["line", "field", "reason"], ""),
        crate::cli::Format::Table => {
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
pub(crate) fn run_export(ctx: &Ctx, columns: &[impl AsRef<str>], what: &str, export: &ExportFn) -> Result<()> {
    let mut exporter = Exporter::new(ctx.out.format, columns)?;
    let n = export(&mut |row| exporter.write(row))?;
    exporter.finish()?;
    ctx.out.status(format!("Exported {n} {what}."));
    Ok(())
}
