DROP TRIGGER IF EXISTS product_variants_stock_quantity_guard ON product_variants;
DROP TRIGGER IF EXISTS products_stock_quantity_guard ON products;
DROP FUNCTION IF EXISTS shop_stock_quantity_guard();
DROP TRIGGER IF EXISTS product_variants_initial_stock ON product_variants;
DROP TRIGGER IF EXISTS products_initial_stock ON products;
DROP FUNCTION IF EXISTS shop_initial_stock();
DROP TRIGGER IF EXISTS stock_locations_active ON stock_locations;
DROP FUNCTION IF EXISTS shop_location_active_changed();
DROP TRIGGER IF EXISTS location_stock_sellable ON location_stock;
DROP FUNCTION IF EXISTS shop_location_stock_changed();
DROP FUNCTION IF EXISTS shop_sync_sellable(BIGINT, BIGINT);

DROP TABLE IF EXISTS stock_transfers;
ALTER TABLE stock_adjustments DROP COLUMN IF EXISTS on_hand_after;
ALTER TABLE stock_adjustments DROP COLUMN IF EXISTS location_id;

-- One reservation row per order line again; stock_quantity already holds
-- the sellable units, which is what it meant before.
ALTER TABLE stock_reservations DROP CONSTRAINT IF EXISTS stock_reservations_pkey;
WITH old AS (DELETE FROM stock_reservations RETURNING *)
INSERT INTO stock_reservations (order_id, line, product_id, variant_id, quantity, state, updated_at, location_id)
SELECT order_id, line, min(product_id), min(variant_id), sum(quantity), min(state), max(updated_at), min(location_id)
FROM old GROUP BY order_id, line;
ALTER TABLE stock_reservations DROP COLUMN IF EXISTS location_id;
ALTER TABLE stock_reservations ADD PRIMARY KEY (order_id, line);

DROP TABLE IF EXISTS location_stock;
DROP TABLE IF EXISTS stock_locations;
