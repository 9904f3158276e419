-- The six built-in roles of PERMISSIONS.md. Their permission sets are fixed; admins
-- create custom roles from the catalogue instead.

INSERT INTO roles (name, description, builtin, created_at) VALUES
    ('admin', 'Everything, for the people who run Rolo', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('management', 'The management department (gestion): staff, contracts, assignments', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('sales', 'The sales department (commercial): own clients, their contracts and events', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('support', 'The support department: assigned events and tickets', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('marketing', 'E-mail marketing: templates, groups, segments, campaigns', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('client', 'A client of the company: its granted projects and their tickets only', 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

INSERT INTO role_permissions (role_id, permission)
SELECT roles.id, json_each.value FROM roles, json_each('["user:read", "user:create", "user:update", "user:deactivate", "user:delete", "role:read", "role:manage", "client:read", "client:create", "client:update:own", "client:update:any", "client:delete", "company:read", "company:create", "company:update:own", "company:update:any", "company:delete", "interaction:read", "interaction:create", "interaction:update:own", "interaction:update:any", "interaction:delete", "contract:read", "contract:create", "contract:update:own", "contract:update:any", "contract:delete", "event:read", "event:update:own", "event:update:any", "event:delete", "project:read:any", "project:manage", "ticket:read:any", "ticket:create", "ticket:reply", "ticket:note", "ticket:status", "ticket:assign", "sla:read", "sla:manage", "campaign:read", "campaign:edit", "campaign:approve", "campaign:send", "template:read", "template:manage", "group:read", "group:manage", "segment:read", "segment:manage", "field:read", "field:manage", "import:run", "privacy:export", "privacy:erase", "mail:send", "audit:read", "backup:run", "backup:restore"]') WHERE name = 'admin';

INSERT INTO role_permissions (role_id, permission)
SELECT roles.id, json_each.value FROM roles, json_each('["user:read", "user:create", "user:update", "user:deactivate", "user:delete", "role:read", "client:read", "client:update:any", "company:read", "company:create", "company:update:any", "interaction:read", "interaction:create", "interaction:update:own", "contract:read", "contract:create", "contract:update:any", "event:read", "event:update:any", "project:read:any", "project:manage", "ticket:read:any", "ticket:create", "ticket:reply", "ticket:note", "ticket:status", "ticket:assign", "sla:read", "sla:manage", "campaign:read", "campaign:edit", "campaign:approve", "campaign:send", "template:read", "template:manage", "group:read", "group:manage", "segment:read", "segment:manage", "field:read", "field:manage", "import:run", "privacy:export", "audit:read"]') WHERE name = 'management';

INSERT INTO role_permissions (role_id, permission)
SELECT roles.id, json_each.value FROM roles, json_each('["client:read", "client:create", "client:update:own", "company:read", "company:create", "company:update:own", "interaction:read", "interaction:create", "interaction:update:own", "contract:read", "contract:update:own", "event:read", "event:create:own", "project:read:any", "ticket:read:any", "sla:read", "template:read", "group:read", "segment:read", "field:read", "import:run"]') WHERE name = 'sales';

INSERT INTO role_permissions (role_id, permission)
SELECT roles.id, json_each.value FROM roles, json_each('["client:read", "company:read", "interaction:read", "interaction:create", "interaction:update:own", "contract:read", "event:read", "event:update:own", "project:read:any", "ticket:read:any", "ticket:create", "ticket:reply", "ticket:note", "ticket:status", "ticket:assign", "sla:read"]') WHERE name = 'support';

INSERT INTO role_permissions (role_id, permission)
SELECT roles.id, json_each.value FROM roles, json_each('["client:read", "company:read", "interaction:read", "contract:read", "event:read", "campaign:read", "campaign:edit", "campaign:send", "template:read", "template:manage", "group:read", "group:manage", "segment:read", "segment:manage", "field:read", "field:manage", "import:run"]') WHERE name = 'marketing';

INSERT INTO role_permissions (role_id, permission)
SELECT roles.id, json_each.value FROM roles, json_each('["project:read:own", "ticket:read:own", "ticket:create", "ticket:reply", "ticket:status"]') WHERE name = 'client';
