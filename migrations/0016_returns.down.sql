DROP INDEX IF EXISTS shipments_return_idx;
ALTER TABLE shipments DROP COLUMN IF EXISTS return_id;
DROP TABLE IF EXISTS return_lines;
DROP TABLE IF EXISTS returns;
