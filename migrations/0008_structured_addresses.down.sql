ALTER TABLE carts
    DROP COLUMN IF EXISTS shipping_name,
    DROP COLUMN IF EXISTS shipping_line1,
    DROP COLUMN IF EXISTS shipping_line2,
    DROP COLUMN IF EXISTS shipping_city,
    DROP COLUMN IF EXISTS shipping_postal_code,
    DROP COLUMN IF EXISTS shipping_phone;

ALTER TABLE orders
    DROP COLUMN IF EXISTS shipping_name,
    DROP COLUMN IF EXISTS shipping_line1,
    DROP COLUMN IF EXISTS shipping_line2,
    DROP COLUMN IF EXISTS shipping_city,
    DROP COLUMN IF EXISTS shipping_postal_code,
    DROP COLUMN IF EXISTS shipping_phone;
