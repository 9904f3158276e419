//! Clients (contact persons): the card as read, the fields as stored, the stage history.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::interaction::Interaction;
use crate::domain::profile::{self, FieldDef};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Client {
    pub id: i64,
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub company_id: Option<i64>,
    pub company: Option<String>,
    pub sales_contact_id: Option<i64>,
    pub sales_contact: Option<String>,
    pub sales_contact_name: Option<String>,
    pub stage: String,
    pub customer: bool,
    pub first_contact_at: String,
    pub last_contact_at: Option<String>,
    pub consent: String,
    /// Custom profile field values, by field key.
    pub fields: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fields {
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub phone_digits: Option<String>,
    pub company_id: Option<i64>,
    pub sales_contact_id: Option<i64>,
    pub first_contact_at: String,
    pub last_contact_at: Option<String>,
    pub consent: String,
    pub profile: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageChange {
    pub from: Option<String>,
    pub to: String,
    pub at: String,
    pub by: Option<String>,
}

impl Fields {
    /// A new client's card: no phone, company or contact dates but the first, consent unknown.
    pub fn new(full_name: String, email: String, sales_contact_id: Option<i64>, first_contact_at: String) -> Self {
        Fields {
            full_name,
            email,
            phone: None,
            phone_digits: None,
            company_id: None,
            sales_contact_id,
            first_contact_at,
            last_contact_at: None,
            consent: "unknown".into(),
            profile: Map::new(),
        }
    }
}

/// A client with what a person wants at a glance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientDetail {
    #[serde(flatten)]
    pub client: Client,
    pub contracts: Vec<crate::domain::contract::Contract>,
    pub interactions: Vec<Interaction>,
    pub stage_history: Vec<StageChange>,
    pub groups: Vec<String>,
    /// The field registry, so the card shows every field with its label.
    #[serde(skip)]
    pub fields: Vec<FieldDef>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ListFilter {
    pub mine: bool,
    pub stage: Option<String>,
    pub company: Option<String>,
    pub sales: Option<String>,
    pub search: Option<String>,
    pub limit: Option<u32>,
}

/// What a person may set on a client. `None` leaves a field alone; an empty string clears an
/// optional one (phone, company, last contact).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub sales_contact: Option<String>,
    pub stage: Option<String>,
    pub first_contact: Option<String>,
    pub last_contact: Option<String>,
    /// Marketing consent: unknown, granted or withdrawn.
    pub consent: Option<String>,
    /// Custom field values by key, as typed; an empty value clears the field.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

impl ClientInput {
    pub fn from_client(c: &Client) -> Self {
        ClientInput {
            name: Some(c.full_name.clone()),
            email: Some(c.email.clone()),
            phone: c.phone.clone(),
            company: c.company.clone(),
            sales_contact: c.sales_contact.clone(),
            stage: Some(c.stage.clone()),
            first_contact: Some(c.first_contact_at.clone()),
            last_contact: c.last_contact_at.clone(),
            consent: Some(c.consent.clone()),
            fields: c.fields.iter().map(|(k, v)| (k.clone(), profile::display(v))).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.email.is_none()
            && self.phone.is_none()
            && self.company.is_none()
            && self.sales_contact.is_none()
            && self.stage.is_none()
            && self.first_contact.is_none()
            && self.last_contact.is_none()
            && self.consent.is_none()
            && self.fields.is_empty()
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct NewInteraction {
    pub client: String,
    pub kind: String,
    pub at: Option<String>,
    pub notes: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct InteractionFilter {
    pub client: Option<String>,
    pub mine: bool,
    pub kind: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Suspect {
    pub keep_id: i64,
    pub keep_name: String,
    pub keep_email: String,
    pub other_id: i64,
    pub other_name: String,
    pub other_email: String,
    pub reason: String,
    pub score: u8,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Merged {
    #[serde(flatten)]
    pub client: crate::domain::client::Client,
    pub merged_from: i64,
    pub contracts_moved: usize,
    pub interactions_moved: usize,
}
