//! How a client's card and the population dashboard read on a terminal.

use comfy_table::Table;

use crate::cli::output::{new_table, when};
use crate::service::{client, population};

/// The client card: identity first, then contracts and the last interactions.
pub(super) fn card(d: &client::ClientDetail) -> String {
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

pub(super) fn stats_card(s: &population::Stats) -> String {
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
