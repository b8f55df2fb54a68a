-- A unit admin's list (every declaration of one unit, the last changed first) reads by the
-- unit recorded at creation. The bureau's search by unit name is a substring match, which no
-- B-tree index serves; its state filter uses declarations_by_state.
CREATE INDEX declarations_by_org ON declarations (org_id, updated_at);
