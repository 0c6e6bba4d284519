-- Stock lives at locations (warehouses, stores). Each location holds, per
-- product or variant, the units on hand and the units reserved for orders
-- (held until paid, then committed until shipped). What a shopper can buy,
-- products.stock_quantity and product_variants.stock_quantity, is kept by
-- triggers as the sum over active locations of on_hand - reserved, in the
-- same transaction, so every reader and the outbox triggers see it as before.
CREATE TABLE stock_locations (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    code        TEXT NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
    address     TEXT NOT NULL DEFAULT '' CHECK (length(address) <= 1000),
    country     TEXT NOT NULL DEFAULT '' CHECK (country = '' OR country ~ '^[A-Z]{2}$'),
    -- Orders are served from lower numbers first.
    priority    INTEGER NOT NULL DEFAULT 0,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    -- The default location takes stock that names no location (a new
    -- product's stock, an import, an adjustment without location_id).
    is_default  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (active OR NOT is_default)
);
CREATE UNIQUE INDEX stock_locations_one_default_idx ON stock_locations (is_default) WHERE is_default;

INSERT INTO stock_locations (name, code, priority, is_default) VALUES ('Main warehouse', 'MAIN', 0, TRUE);

-- variant_id is NULL for the product's own stock (as in stock_reservations).
CREATE TABLE location_stock (
    location_id BIGINT NOT NULL REFERENCES stock_locations (id) ON DELETE RESTRICT,
    product_id  BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    variant_id  BIGINT REFERENCES product_variants (id) ON DELETE CASCADE,
    on_hand     INTEGER NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    reserved    INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    CHECK (reserved <= on_hand)
);
-- Also the order in which writers lock rows: product, variant, location.
CREATE UNIQUE INDEX location_stock_key_idx ON location_stock (product_id, (coalesce(variant_id, 0)), location_id);
CREATE INDEX location_stock_location_idx ON location_stock (location_id);

-- Reservations name the location their units are held at: one row per
-- order line and location.
ALTER TABLE stock_reservations ADD COLUMN location_id BIGINT REFERENCES stock_locations (id);
UPDATE stock_reservations SET location_id = (SELECT id FROM stock_locations WHERE is_default);
ALTER TABLE stock_reservations ALTER COLUMN location_id SET NOT NULL;
ALTER TABLE stock_reservations DROP CONSTRAINT stock_reservations_pkey;
ALTER TABLE stock_reservations ADD PRIMARY KEY (order_id, line, location_id);

-- Today's stock moves to the default location. stock_quantity already
-- excludes the units of held and committed (paid, not yet shipped)
-- reservations; those stay on hand, reserved.
INSERT INTO location_stock (location_id, product_id, variant_id, on_hand, reserved)
SELECT (SELECT id FROM stock_locations WHERE is_default), p.id, NULL,
       p.stock_quantity + coalesce(r.qty, 0), coalesce(r.qty, 0)
FROM products p
LEFT JOIN (SELECT product_id, sum(quantity)::integer AS qty FROM stock_reservations
           WHERE variant_id IS NULL AND state IN ('held', 'committed') GROUP BY product_id) r ON r.product_id = p.id;
INSERT INTO location_stock (location_id, product_id, variant_id, on_hand, reserved)
SELECT (SELECT id FROM stock_locations WHERE is_default), v.product_id, v.id,
       v.stock_quantity + coalesce(r.qty, 0), coalesce(r.qty, 0)
FROM product_variants v
LEFT JOIN (SELECT variant_id, sum(quantity)::integer AS qty FROM stock_reservations
           WHERE variant_id IS NOT NULL AND state IN ('held', 'committed') GROUP BY variant_id) r ON r.variant_id = v.id;

-- Staff changes name their location; transfers are kept with their reason.
ALTER TABLE stock_adjustments ADD COLUMN location_id BIGINT REFERENCES stock_locations (id);
UPDATE stock_adjustments SET location_id = (SELECT id FROM stock_locations WHERE is_default);
ALTER TABLE stock_adjustments ALTER COLUMN location_id SET NOT NULL;
ALTER TABLE stock_adjustments ADD COLUMN on_hand_after INTEGER CHECK (on_hand_after >= 0);

CREATE TABLE stock_transfers (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id       BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    variant_id       BIGINT REFERENCES product_variants (id) ON DELETE CASCADE,
    from_location_id BIGINT NOT NULL REFERENCES stock_locations (id),
    to_location_id   BIGINT NOT NULL REFERENCES stock_locations (id),
    quantity         INTEGER NOT NULL CHECK (quantity > 0),
    reason           TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    actor_user_id    BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (from_location_id <> to_location_id)
);
CREATE INDEX stock_transfers_product_idx ON stock_transfers (product_id, created_at DESC);

-- stock_quantity := the sellable units of a product (v NULL) or variant.
-- The row is locked before the sum is read: the sum's statement then sees
-- every change committed by a transaction that synced before, so changes at
-- different locations committed side by side are all counted (the last
-- transaction to take the lock sums them all).
CREATE FUNCTION shop_sync_sellable(p BIGINT, v BIGINT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    n BIGINT;
BEGIN
    IF v IS NULL THEN
        PERFORM 1 FROM products WHERE id = p FOR UPDATE;
    ELSE
        PERFORM 1 FROM product_variants WHERE id = v FOR UPDATE;
    END IF;
    SELECT coalesce(sum(s.on_hand - s.reserved), 0) INTO n
    FROM location_stock s JOIN stock_locations l ON l.id = s.location_id
    WHERE s.product_id = p AND coalesce(s.variant_id, 0) = coalesce(v, 0) AND l.active;
    IF v IS NULL THEN
        UPDATE products SET stock_quantity = n WHERE id = p AND stock_quantity <> n;
    ELSE
        UPDATE product_variants SET stock_quantity = n WHERE id = v AND stock_quantity <> n;
    END IF;
END $$;

CREATE FUNCTION shop_location_stock_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM shop_sync_sellable(OLD.product_id, OLD.variant_id);
    END IF;
    IF TG_OP = 'INSERT' OR TG_OP = 'UPDATE' AND
       (NEW.product_id, NEW.variant_id) IS DISTINCT FROM (OLD.product_id, OLD.variant_id) THEN
        PERFORM shop_sync_sellable(NEW.product_id, NEW.variant_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER location_stock_sellable AFTER INSERT OR UPDATE OR DELETE ON location_stock
    FOR EACH ROW EXECUTE FUNCTION shop_location_stock_changed();

-- A location that opens or closes adds or removes its units from sale.
CREATE FUNCTION shop_location_active_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r RECORD;
BEGIN
    FOR r IN SELECT product_id, variant_id FROM location_stock WHERE location_id = NEW.id
             ORDER BY product_id, coalesce(variant_id, 0) LOOP
        PERFORM shop_sync_sellable(r.product_id, r.variant_id);
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER stock_locations_active AFTER UPDATE OF active ON stock_locations
    FOR EACH ROW WHEN (OLD.active IS DISTINCT FROM NEW.active) EXECUTE FUNCTION shop_location_active_changed();

-- A new product or variant written with a stock number puts it on hand at
-- the default location.
CREATE FUNCTION shop_initial_stock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'products' THEN
        INSERT INTO location_stock (location_id, product_id, variant_id, on_hand)
        SELECT id, NEW.id, NULL, NEW.stock_quantity FROM stock_locations WHERE is_default;
    ELSE
        INSERT INTO location_stock (location_id, product_id, variant_id, on_hand)
        SELECT id, NEW.product_id, NEW.id, NEW.stock_quantity FROM stock_locations WHERE is_default;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER products_initial_stock AFTER INSERT ON products
    FOR EACH ROW WHEN (NEW.stock_quantity > 0) EXECUTE FUNCTION shop_initial_stock();
CREATE TRIGGER product_variants_initial_stock AFTER INSERT ON product_variants
    FOR EACH ROW WHEN (NEW.stock_quantity > 0) EXECUTE FUNCTION shop_initial_stock();

-- Only the triggers above write stock_quantity once a row exists: a direct
-- write would disagree with the locations.
CREATE FUNCTION shop_stock_quantity_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'stock_quantity is the sellable stock of the locations; change location_stock instead';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER products_stock_quantity_guard BEFORE UPDATE OF stock_quantity ON products
    FOR EACH ROW WHEN (OLD.stock_quantity IS DISTINCT FROM NEW.stock_quantity)
    EXECUTE FUNCTION shop_stock_quantity_guard();
CREATE TRIGGER product_variants_stock_quantity_guard BEFORE UPDATE OF stock_quantity ON product_variants
    FOR EACH ROW WHEN (OLD.stock_quantity IS DISTINCT FROM NEW.stock_quantity)
    EXECUTE FUNCTION shop_stock_quantity_guard();
