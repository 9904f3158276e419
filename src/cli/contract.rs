//! `rolo contract …`.

use clap::Subcommand;

use super::Ctx;
use crate::service::contract;
use crate::{Error, Result};

const COLUMNS: &[&str] = &["id", "client_name", "sales_contact", "total", "due", "currency", "signed", "created_at"];
const RECORD: &[&str] = &[
    "id",
    "client_id",
    "client_name",
    "client_email",
    "company",
    "sales_contact",
    "total",
    "due",
    "currency",
    "signed",
    "signed_at",
    "created_at",
    "updated_at",
];

#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// List contracts (JSON keys: id, client_id, client_name, client_email, company,
    /// sales_contact_id, sales_contact, total, due, currency, signed, signed_at, created_at, updated_at;
    /// amounts are decimal strings)
    List {
        /// Only contracts not signed yet
        #[arg(long, conflicts_with = "signed")]
        unsigned: bool,
        /// Only signed contracts
        #[arg(long)]
        signed: bool,
        /// Only contracts with an amount still due
        #[arg(long)]
        unpaid: bool,
        /// Only contracts of my clients (I am their sales contact)
        #[arg(long)]
        mine: bool,
        /// Only this client's (id or e-mail)
        #[arg(long)]
        client: Option<String>,
        /// At most N contracts
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Show a contract and its events
    Show {
        /// The contract id
        id: String,
    },
    /// Create a contract for a client (management)
    Create {
        /// The client (id or e-mail)
        #[arg(long)]
        client: Option<String>,
        /// Total amount, e.g. 1000.00
        #[arg(long, allow_hyphen_values = true)]
        total: Option<String>,
        /// Amount still due (default: the total)
        #[arg(long, allow_hyphen_values = true)]
        due: Option<String>,
        /// Currency code (default EUR)
        #[arg(long)]
        currency: Option<String>,
        /// Already signed
        #[arg(long)]
        signed: bool,
        /// Keep this contract number (from another system)
        #[arg(long)]
        id: Option<i64>,
    },
    /// Change amounts or the signed state (management, or the client's sales contact)
    Update {
        /// The contract id
        id: String,
        /// Total amount, e.g. 1250.00
        #[arg(long, allow_hyphen_values = true)]
        total: Option<String>,
        /// Amount still due (at most the total)
        #[arg(long, allow_hyphen_values = true)]
        due: Option<String>,
        /// Three-letter currency code, e.g. EUR
        #[arg(long)]
        currency: Option<String>,
        /// Mark the contract signed
        #[arg(long, conflicts_with = "unsigned")]
        signed: bool,
        /// Mark the contract not signed
        #[arg(long)]
        unsigned: bool,
    },
    /// Mark a contract as signed
    Sign {
        /// The contract id
        id: String,
    },
    /// Import contracts (matched on id); columns: id,client,total,due,currency,signed
    Import(super::import::ImportArgs),
    /// Export every contract in the import columns (CSV, or JSON lines with --format json)
    Export,
}

pub fn run(ctx: &Ctx, cmd: ContractCommand) -> Result<()> {
    let db = ctx.open_db()?;
    let session = ctx.session(&db)?;
    match cmd {
        ContractCommand::Import(args) => {
            super::import::run_import(ctx, &session, args, None, "contracts", &|s, input, opts, progress| {
                crate::service::import::import_contracts(s, input, opts, progress)
            })
        }
        ContractCommand::Export => {
            super::import::run_export(ctx, crate::service::import::CONTRACT_EXPORT, "contracts", &|emit| {
                crate::service::import::export_contracts(&session, emit)
            })
        }
        ContractCommand::List { unsigned, signed, unpaid, mine, client, limit } => {
            let signed = match (signed, unsigned) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            };
            let items = contract::list(&session, &contract::ListFilter { signed, unpaid, mine, client, limit })?;
            ctx.out.list(&items, COLUMNS, "No contracts match.")
        }
        ContractCommand::Show { id } => ctx.out.record(&contract::show(&session, &id)?, RECORD),
        ContractCommand::Create { client, total, due, currency, signed, id } => {
            let input = contract::NewContract {
                id,
                client: ctx.prompt.text(client, "Client (id or e-mail)", "--client")?,
                total: ctx.prompt.text(total, "Total amount", "--total")?,
                due,
                currency,
                signed,
            };
            let created = contract::create(&session, &input)?;
            ctx.out.status(format!("Created contract {} for {}.", created.id, created.client_name));
            ctx.out.record(&created, RECORD)
        }
        ContractCommand::Update { id, total, due, currency, signed, unsigned } => {
            let signed = match (signed, unsigned) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            };
            if total.is_none() && due.is_none() && currency.is_none() && signed.is_none() {
                return Err(Error::usage("nothing to change: pass --total, --due, --currency, --signed or --unsigned"));
            }
            let updated = contract::update(&session, &id, &contract::ContractPatch { total, due, currency, signed })?;
            ctx.out.status(format!("Updated contract {}.", updated.id));
            ctx.out.record(&updated, RECORD)
        }
        ContractCommand::Sign { id } => {
            let signed = contract::sign(&session, &id)?;
            ctx.out.status(format!("Contract {} is signed.", signed.id));
            ctx.out.record(&signed, RECORD)
        }
    }
}
