-- A project's open tickets are counted on every project card and portal page: a partial index
-- holds just the open ones per project, so the count reads the index, not each ticket.
CREATE INDEX tickets_project_open ON tickets(project_id) WHERE status NOT IN ('resolved', 'closed');
