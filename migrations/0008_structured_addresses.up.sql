-- Structured shipping addresses. An order keeps the address it ships to
-- field by field next to its one-line rendering (shipping_address), and its
-- tax jurisdiction (shipping_country, shipping_region) is derived from it.
-- Orders placed with a free-form address keep these columns empty.
ALTER TABLE orders
    ADD COLUMN shipping_name        TEXT NOT NULL DEFAULT '',
    ADD COLUMN shipping_line1       TEXT NOT NULL DEFAULT '',
    ADD COLUMN shipping_line2       TEXT NOT NULL DEFAULT '',
    ADD COLUMN shipping_city        TEXT NOT NULL DEFAULT '',
    ADD COLUMN shipping_postal_code TEXT NOT NULL DEFAULT '',
    ADD COLUMN shipping_phone       TEXT NOT NULL DEFAULT '';

-- The cart's shipping destination: at least a country (for the tax
-- estimate), or a whole address.
ALTER TABLE carts
    ADD COLUMN shipping_name        TEXT NOT NULL DEFAULT '',
    ADD COLUMN shipping_line1       TEXT NOT NULL DEFAULT '',
    ADD COLUMN shipping_line2       TEXT NOT NULL DEFAULT '',
    ADD COLUMN shipping_city        TEXT NOT NULL DEFAULT '',
    ADD COLUMN shipping_postal_code TEXT NOT NULL DEFAULT '',
    ADD COLUMN shipping_phone       TEXT NOT NULL DEFAULT '';
