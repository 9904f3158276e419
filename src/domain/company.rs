//! Companies: the record as read (with its sales owner and client count), the fields as stored.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Company {
    pub id: i64,
    pub name: String,
    pub logo: Option<String>,
    pub size: Option<String>,
    pub industry: Option<String>,
    pub business_type: Option<String>,
    pub country: Option<String>,
    pub website: Option<String>,
    pub time_zone: Option<String>,
    pub total_income: Option<String>,
    pub currency: String,
    pub sales_owner_id: Option<i64>,
    pub sales_owner: Option<String>,
    pub clients: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// The editable fields, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fields {
    pub name: String,
    pub logo: Option<String>,
    pub size: Option<String>,
    pub industry: Option<String>,
    pub business_type: Option<String>,
    pub country: Option<String>,
    pub website: Option<String>,
    pub time_zone: Option<String>,
    pub total_income: Option<i64>,
    pub currency: String,
    pub sales_owner_id: Option<i64>,
}

/// What a person may set on a company. `None` leaves a field alone; an empty string clears it.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanyInput {
    pub name: Option<String>,
    pub logo: Option<String>,
    pub size: Option<String>,
    pub industry: Option<String>,
    pub business_type: Option<String>,
    pub country: Option<String>,
    pub website: Option<String>,
    pub time_zone: Option<String>,
    pub total_income: Option<String>,
    pub currency: Option<String>,
    pub sales_owner: Option<String>,
}

impl CompanyInput {
    /// The current values, for editing in `$EDITOR`.
    pub fn from_company(c: &Company) -> Self {
        CompanyInput {
            name: Some(c.name.clone()),
            logo: c.logo.clone(),
            size: c.size.clone(),
            industry: c.industry.clone(),
            business_type: c.business_type.clone(),
            country: c.country.clone(),
            website: c.website.clone(),
            time_zone: c.time_zone.clone(),
            total_income: c.total_income.clone(),
            currency: Some(c.currency.clone()),
            sales_owner: c.sales_owner.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.logo.is_none()
            && self.size.is_none()
            && self.industry.is_none()
            && self.business_type.is_none()
            && self.country.is_none()
            && self.website.is_none()
            && self.time_zone.is_none()
            && self.total_income.is_none()
            && self.currency.is_none()
            && self.sales_owner.is_none()
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ListFilter {
    pub mine: bool,
    pub search: Option<String>,
    pub limit: Option<u32>,
}
