//! `rolo client field …`: the registry of custom profile fields.

use clap::{Args, Subcommand};

use crate::Result;
use crate::cli::Ctx;
use crate::service::{Session, field};

const FIELD_COLUMNS: &[&str] =
    &["key", "label", "kind", "choices", "mandatory", "public", "origin", "personal_data", "filled"];

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

pub(super) fn run(ctx: &Ctx, session: &Session, cmd: FieldCommand) -> Result<()> {
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
