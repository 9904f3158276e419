//! The permission catalogue of `PERMISSIONS.md`: `resource:action[:scope]`.
//!
//! The catalogue lives in code so that a service can only ask for a permission that exists; the
//! built-in roles are seeded by a migration that names the same strings (a test keeps the two
//! in step).

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

macro_rules! catalogue {
    ($($variant:ident => $name:literal,)*) => {
        /// One entry of the permission catalogue.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Permission { $($variant,)* }

        impl Permission {
            /// Every permission, in catalogue order.
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Permission::$variant => $name,)* }
            }
        }

        impl FromStr for Permission {
            type Err = crate::Error;
            fn from_str(s: &str) -> crate::Result<Self> {
                match s {
                    $($name => Ok(Permission::$variant),)*
                    _ => Err(crate::Error::invalid(
                        "permission",
                        format!("`{s}` is not in the catalogue (see `rolo user role permissions`)"),
                    )),
                }
            }
        }
    };
}

catalogue! {
    UserRead => "user:read",
    UserCreate => "user:create",
    UserUpdate => "user:update",
    UserDeactivate => "user:deactivate",
    UserDelete => "user:delete",
    RoleRead => "role:read",
    RoleManage => "role:manage",
    ClientRead => "client:read",
    ClientCreate => "client:create",
    ClientUpdateOwn => "client:update:own",
    ClientUpdateAny => "client:update:any",
    ClientDelete => "client:delete",
    CompanyRead => "company:read",
    CompanyCreate => "company:create",
    CompanyUpdateOwn => "company:update:own",
    CompanyUpdateAny => "company:update:any",
    CompanyDelete => "company:delete",
    InteractionRead => "interaction:read",
    InteractionCreate => "interaction:create",
    InteractionUpdateOwn => "interaction:update:own",
    InteractionUpdateAny => "interaction:update:any",
    InteractionDelete => "interaction:delete",
    ContractRead => "contract:read",
    ContractCreate => "contract:create",
    ContractUpdateOwn => "contract:update:own",
    ContractUpdateAny => "contract:update:any",
    ContractDelete => "contract:delete",
    EventRead => "event:read",
    EventCreateOwn => "event:create:own",
    EventUpdateOwn => "event:update:own",
    EventUpdateAny => "event:update:any",
    EventDelete => "event:delete",
    ProjectReadOwn => "project:read:own",
    ProjectReadAny => "project:read:any",
    ProjectManage => "project:manage",
    TicketReadOwn => "ticket:read:own",
    TicketReadAny => "ticket:read:any",
    TicketCreate => "ticket:create",
    TicketReply => "ticket:reply",
    TicketNote => "ticket:note",
    TicketStatus => "ticket:status",
    TicketAssign => "ticket:assign",
    SlaRead => "sla:read",
    SlaManage => "sla:manage",
    CampaignRead => "campaign:read",
    CampaignEdit => "campaign:edit",
    CampaignApprove => "campaign:approve",
    CampaignSend => "campaign:send",
    TemplateRead => "template:read",
    TemplateManage => "template:manage",
    GroupRead => "group:read",
    GroupManage => "group:manage",
    SegmentRead => "segment:read",
    SegmentManage => "segment:manage",
    FieldRead => "field:read",
    FieldManage => "field:manage",
    ImportRun => "import:run",
    PrivacyExport => "privacy:export",
    PrivacyErase => "privacy:erase",
    MailSend => "mail:send",
    MailSuppress => "mail:suppress",
    MailInbound => "mail:inbound",
    PageRead => "page:read",
    PageManage => "page:manage",
    LinkRead => "link:read",
    LinkManage => "link:manage",
    AppRead => "app:read",
    AppManage => "app:manage",
    AuditRead => "audit:read",
    BackupRun => "backup:run",
    BackupRestore => "backup:restore",
}

impl Permission {
    /// The resource part (`user` of `user:read`), used as the audited entity of a denial.
    pub fn resource(self) -> &'static str {
        self.as_str().split(':').next().unwrap_or("")
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The built-in roles. Their permissions are seeded by `migrations/0002_builtin_roles.sql` and
/// cannot be edited; admins create custom roles instead.
pub const BUILTIN_ROLES: &[&str] = &["admin", "management", "sales", "support", "marketing", "client"];

/// The role of the company's own clients: they see only their granted projects.
pub const CLIENT_ROLE: &str = "client";
pub const ADMIN_ROLE: &str = "admin";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_round_trips_through_its_name() {
        for p in Permission::ALL {
            assert_eq!(p.as_str().parse::<Permission>().ok(), Some(*p));
        }
        assert!("user:fly".parse::<Permission>().is_err());
        assert_eq!(Permission::ClientUpdateOwn.resource(), "client");
    }
}
