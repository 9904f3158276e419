//! `rolo campaign page|link …`: landing pages and short links, served by `rolo serve`.

use clap::Subcommand;

use crate::Result;
use crate::cli::Ctx;
use crate::domain::page::PageInput;
use crate::service::authz::Session;
use crate::service::campaign::{pages, shortlinks};

const PAGE_COLUMNS: &[&str] =
    &["slug", "template", "group", "fields", "double_opt_in", "active", "signups", "pending", "created_by"];
const PAGE_RECORD: &[&str] = &[
    "slug",
    "template",
    "group",
    "fields",
    "consent_text",
    "double_opt_in",
    "active",
    "signups",
    "pending",
    "created_by",
    "created_at",
    "updated_at",
];
const LINK_COLUMNS: &[&str] = &["code", "url", "campaign_id", "expires_at", "clicks", "recipients", "machine_clicks"];

#[derive(Debug, clap::Args)]
pub struct PageArgs {
    /// The template shown (its latest version)
    #[arg(long)]
    template: Option<String>,
    /// The group sign-ups join (empty: none)
    #[arg(long)]
    group: Option<String>,
    /// The form's fields: name, email, phone and client fields (comma-separated; email always)
    #[arg(long, value_delimiter = ',')]
    fields: Option<Vec<String>>,
    /// The sentence people agree to (its SHA-256 goes to the consent ledger)
    #[arg(long)]
    consent_text: Option<String>,
    /// Grant consent only after the link of a confirmation e-mail is followed
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "true|false")]
    double_opt_in: Option<bool>,
    /// Serve the page (false: 404 until turned back on)
    #[arg(long, value_name = "true|false")]
    active: Option<bool>,
}

impl PageArgs {
    fn input(self, slug: Option<String>) -> PageInput {
        PageInput {
            slug,
            template: self.template,
            group: self.group,
            fields: self.fields,
            consent_text: self.consent_text,
            double_opt_in: self.double_opt_in,
            active: self.active,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum PageCommand {
    /// Landing pages (JSON keys: slug, template, group, fields, consent_text, double_opt_in,
    /// active, created_by, created_at, updated_at, signups, pending)
    List,
    /// One page
    Show {
        /// The page's slug
        slug: String,
    },
    /// Create a page served at /p/SLUG
    Create {
        /// Lower-case letters, digits and dashes
        slug: String,
        #[command(flatten)]
        args: PageArgs,
    },
    /// Change a page
    Update {
        /// The page's slug
        slug: String,
        /// A new slug (old links stop working)
        #[arg(long)]
        rename: Option<String>,
        #[command(flatten)]
        args: PageArgs,
    },
    /// Delete a page (its sign-ups' clients and consent stay)
    Delete {
        /// The page's slug
        slug: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum LinkCommand {
    /// Short links with their clicks (JSON keys: id, code, url, campaign_id, expires_at,
    /// created_by, created_at, clicks, recipients, machine_clicks)
    List,
    /// Create a short link served at /s/CODE
    Create {
        /// Where it goes: https://… or a path of this server (/p/offer)
        url: String,
        /// The code (default: seven random letters and digits)
        #[arg(long)]
        code: Option<String>,
        /// The campaign it belongs to
        #[arg(long)]
        campaign: Option<i64>,
        /// When it stops working: a date, an instant or +30d
        #[arg(allow_hyphen_values = true, long)]
        expires: Option<String>,
    },
    /// A link's clicks, and per day
    Stats {
        /// The link's code
        code: String,
    },
    /// Delete a short link
    Delete {
        /// The link's code
        code: String,
    },
}

pub(super) fn pages(ctx: &Ctx, session: &Session, cmd: PageCommand) -> Result<()> {
    match cmd {
        PageCommand::List => ctx.out.list(&pages::list(session)?, PAGE_COLUMNS, "No landing pages."),
        PageCommand::Show { slug } => ctx.out.record(&pages::show(session, &slug)?, PAGE_RECORD),
        PageCommand::Create { slug, args } => {
            let p = pages::create(session, &args.input(Some(slug)))?;
            if let Some(base) = &ctx.config.public_url {
                ctx.out.status(format!("Landing page served at {base}/p/{}", p.slug));
            }
            ctx.out.record(&p, PAGE_RECORD)
        }
        PageCommand::Update { slug, rename, args } => {
            ctx.out.record(&pages::update(session, &slug, &args.input(rename))?, PAGE_RECORD)
        }
        PageCommand::Delete { slug } => {
            let p = pages::delete(session, &slug)?;
            ctx.out.status(format!("Landing page `{}` deleted.", p.slug));
            Ok(())
        }
    }
}

pub(super) fn links(ctx: &Ctx, session: &Session, cmd: LinkCommand) -> Result<()> {
    match cmd {
        LinkCommand::List => ctx.out.list(&shortlinks::list(session)?, LINK_COLUMNS, "No short links."),
        LinkCommand::Create { url, code, campaign, expires } => {
            let l = shortlinks::create(session, &shortlinks::NewLink { url, code, campaign, expires })?;
            if let Some(base) = &ctx.config.public_url {
                ctx.out.status(format!("Short link: {base}/s/{}", l.code));
            }
            ctx.out.record(&l, LINK_COLUMNS)
        }
        LinkCommand::Stats { code } => {
            let (link, days) = shortlinks::stats(session, &code)?;
            let card = format!("{}\n\n{}", table_of(&link)?, super::chart::chart(&days, false));
            let mut value = serde_json::to_value(&link)?;
            value["days"] = serde_json::to_value(&days)?;
            ctx.out.record_with(&value, LINK_COLUMNS, Some(card))
        }
        LinkCommand::Delete { code } => {
            let l = shortlinks::delete(session, &code)?;
            ctx.out.status(format!("Short link `{}` deleted.", l.code));
            Ok(())
        }
    }
}

fn table_of(link: &crate::domain::links::ShortLink) -> Result<String> {
    let v = serde_json::to_value(link)?;
    Ok(LINK_COLUMNS
        .iter()
        .map(|c| format!("{:<16}{}", c.replace('_', " "), v.get(*c).map(plain).unwrap_or_default()))
        .collect::<Vec<_>>()
        .join("\n"))
}

fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}
