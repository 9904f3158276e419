//! The population at a glance: `rolo client stats`, and companies to create for clients that
//! have none (`rolo client company suggest`, grouping by e-mail domain).

use std::collections::{BTreeMap, HashMap};

use super::authz::Session;
use super::dedupe::{WEBMAIL, dedupe, mailbox_key};
use crate::Result;
use crate::db;
use crate::domain::Permission;
pub use crate::domain::population::{Count, Stats, Suggestion};

/// "acme-evenements.be" → "Acme Evenements".
fn name_from_domain(domain: &str) -> String {
    let label = domain.split('.').next().unwrap_or(domain);
    label
        .split(['-', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Clients without a company, grouped by their (non-webmail) e-mail domain, largest first.
pub fn suggest_companies(session: &Session) -> Result<Vec<Suggestion>> {
    session.require(Permission::CompanyRead)?;
    let mut by_domain: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // Companies already used by colleagues at the same domain.
    let mut known: HashMap<String, HashMap<String, usize>> = HashMap::new();
    db::client::for_each(session.db(), |c| {
        let Some((_, domain)) = mailbox_key(&c.email) else { return Ok(()) };
        if WEBMAIL.contains(&domain.as_str()) {
            return Ok(());
        }
        match &c.company {
            Some(name) => *known.entry(domain).or_default().entry(name.clone()).or_default() += 1,
            None => by_domain.entry(domain).or_default().push(c.email.clone()),
        }
        Ok(())
    })?;
    let companies = db::company::list(session.db(), &db::company::Filter::default())?;
    let by_site: HashMap<String, String> = companies
        .iter()
        .filter_map(|co| {
            let site = co.website.as_deref()?;
            let host =
                site.split("://").nth(1).unwrap_or(site).split('/').next()?.trim_start_matches("www.").to_lowercase();
            Some((host, co.name.clone()))
        })
        .collect();
    let mut out: Vec<Suggestion> = by_domain
        .into_iter()
        .map(|(domain, emails)| Suggestion {
            suggested_name: name_from_domain(&domain),
            existing_company: by_site.get(&domain).cloned().or_else(|| {
                known.get(&domain).and_then(|names| {
                    names.iter().max_by_key(|(n, c)| (**c, std::cmp::Reverse((*n).clone()))).map(|(n, _)| n.clone())
                })
            }),
            clients: emails.len(),
            examples: emails.into_iter().take(3).collect(),
            domain,
        })
        .collect();
    out.sort_by(|a, b| b.clients.cmp(&a.clients).then(a.domain.cmp(&b.domain)));
    Ok(out)
}

pub fn stats(session: &Session) -> Result<Stats> {
    session.require(Permission::ClientRead)?;
    let mut total = 0usize;
    let mut stages: HashMap<String, usize> = HashMap::new();
    let mut companies: HashMap<String, usize> = HashMap::new();
    let mut months: BTreeMap<String, usize> = BTreeMap::new();
    let mut filled: BTreeMap<&'static str, usize> = BTreeMap::new();
    db::client::for_each(session.db(), |c| {
        total += 1;
        *stages.entry(c.stage.clone()).or_default() += 1;
        *companies.entry(c.company.clone().unwrap_or_else(|| "(no company)".into())).or_default() += 1;
        *months.entry(c.first_contact_at.get(..7).unwrap_or("").to_string()).or_default() += 1;
        for (field, has) in [
            ("phone", c.phone.is_some()),
            ("company", c.company_id.is_some()),
            ("sales_contact", c.sales_contact_id.is_some()),
            ("last_contact", c.last_contact_at.is_some()),
        ] {
            *filled.entry(field).or_default() += usize::from(has);
        }
        Ok(())
    })?;
    let order = ["subscriber", "lead", "qualified", "opportunity", "won", "lost"];
    let by_stage =
        order.iter().map(|s| Count { key: s.to_string(), clients: stages.get(*s).copied().unwrap_or(0) }).collect();
    let mut by_company: Vec<Count> = companies.into_iter().map(|(key, clients)| Count { key, clients }).collect();
    by_company.sort_by(|a, b| b.clients.cmp(&a.clients).then(a.key.cmp(&b.key)));
    by_company.truncate(10);
    let completeness =
        filled.into_iter().map(|(k, n)| (k.to_string(), (n * 100).checked_div(total).unwrap_or(0) as u8)).collect();
    Ok(Stats {
        clients: total,
        customers: stages.get("won").copied().unwrap_or(0),
        by_stage,
        by_company,
        completeness,
        duplicates_suspected: dedupe(session, None)?.len(),
        growth_by_month: months.into_iter().map(|(key, clients)| Count { key, clients }).collect(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn company_names_from_domains() {
        assert_eq!(super::name_from_domain("acme-evenements.be"), "Acme Evenements");
        assert_eq!(super::name_from_domain("startup.io"), "Startup");
    }
}
