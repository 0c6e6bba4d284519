DROP TABLE IF EXISTS stock_adjustments;
DROP TRIGGER IF EXISTS products_sku_free ON products;
DROP TABLE IF EXISTS product_variants;
DROP FUNCTION IF EXISTS shop_sku_is_free();
DROP INDEX IF EXISTS products_created_idx;
DROP INDEX IF EXISTS products_price_idx;
DROP INDEX IF EXISTS products_brand_idx;
DROP INDEX IF EXISTS products_name_trgm_idx;
ALTER TABLE products DROP COLUMN search_vector;
ALTER TABLE products ADD COLUMN search_vector TSVECTOR GENERATED ALWAYS AS (
    setweight(to_tsvector('english', coalesce(name, '')), 'A') ||
    setweight(to_tsvector('english', coalesce(brand, '')), 'B') ||
    setweight(to_tsvector('english', coalesce(description, '')), 'C')
) STORED;
CREATE INDEX products_search_idx ON products USING GIN (search_vector);
ALTER TABLE products DROP COLUMN attributes;
ALTER TABLE categories DROP COLUMN active;
DROP FUNCTION IF EXISTS shop_unaccent(text);
