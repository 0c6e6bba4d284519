-- Low stock is watched per location: a warehouse running out alerts staff
-- even while another one holds plenty.
ALTER TABLE low_stock_alerts ADD COLUMN location_id BIGINT REFERENCES stock_locations (id) ON DELETE CASCADE;
UPDATE low_stock_alerts SET location_id = (SELECT id FROM stock_locations WHERE is_default);
ALTER TABLE low_stock_alerts ALTER COLUMN location_id SET NOT NULL;
ALTER TABLE low_stock_alerts DROP CONSTRAINT low_stock_alerts_product_id_key;
ALTER TABLE low_stock_alerts ADD CONSTRAINT low_stock_alerts_product_location_key UNIQUE (product_id, location_id);

ALTER TABLE low_stock_armed ADD COLUMN location_id BIGINT REFERENCES stock_locations (id) ON DELETE CASCADE;
UPDATE low_stock_armed SET location_id = (SELECT id FROM stock_locations WHERE is_default);
ALTER TABLE low_stock_armed ALTER COLUMN location_id SET NOT NULL;
ALTER TABLE low_stock_armed DROP CONSTRAINT low_stock_armed_pkey;
ALTER TABLE low_stock_armed ADD PRIMARY KEY (product_id, location_id);

-- A change of what a location can sell is recorded in the outbox: stock
-- moving between locations changes no product's total, so product.changed
-- alone would miss it. Shipping (on hand and reserved both drop) does not
-- change what is available, and records nothing.
CREATE FUNCTION outbox_location_stock_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.on_hand - OLD.reserved = NEW.on_hand - NEW.reserved THEN
        RETURN NULL;
    END IF;
    INSERT INTO outbox_events (topic, entity_id) VALUES ('stock.changed', NEW.product_id);
    RETURN NULL;
END $$;
CREATE TRIGGER location_stock_outbox AFTER INSERT OR UPDATE OF on_hand, reserved ON location_stock
    FOR EACH ROW EXECUTE FUNCTION outbox_location_stock_changed();
UPDATE outbox_consumers SET topics = '{product.changed,stock.changed}' WHERE name = 'low_stock';
