CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;

-- unaccent() is only STABLE; this wrapper pins the dictionary so it can be
-- used in generated columns and indexes.
CREATE FUNCTION shop_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$;

ALTER TABLE categories ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;

-- Free-form attributes ({"color": "black", "ram": "32GB"}) are searchable.
ALTER TABLE products ADD COLUMN attributes JSONB NOT NULL DEFAULT '{}'
    CHECK (jsonb_typeof(attributes) = 'object');
ALTER TABLE products DROP COLUMN search_vector;
ALTER TABLE products ADD COLUMN search_vector TSVECTOR GENERATED ALWAYS AS (
    setweight(to_tsvector('english', shop_unaccent(coalesce(name, ''))), 'A') ||
    setweight(to_tsvector('english', shop_unaccent(coalesce(brand, ''))), 'B') ||
    setweight(jsonb_to_tsvector('english', attributes, '["string"]'), 'B') ||
    setweight(to_tsvector('english', shop_unaccent(coalesce(description, ''))), 'C')
) STORED;
CREATE INDEX products_search_idx ON products USING GIN (search_vector);
-- Trigram indexes give typo tolerance and type-ahead on names and brands.
CREATE INDEX products_name_trgm_idx ON products USING GIN (shop_unaccent(lower(name)) gin_trgm_ops);
CREATE INDEX products_brand_idx ON products (lower(brand)) WHERE active;
CREATE INDEX products_price_idx ON products (price_minor) WHERE active;
CREATE INDEX products_created_idx ON products (created_at DESC) WHERE active;

-- Variants (size, colour, ...) each have their own SKU, optional price and stock.
CREATE TABLE product_variants (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id     BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    sku            TEXT NOT NULL UNIQUE CHECK (sku ~ '^[A-Z0-9][A-Z0-9._-]{1,63}$'),
    attributes     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(attributes) = 'object'),
    price_minor    BIGINT CHECK (price_minor >= 0),
    stock_quantity INTEGER NOT NULL DEFAULT 0 CHECK (stock_quantity >= 0),
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX product_variants_product_idx ON product_variants (product_id);

-- A SKU names one thing: a product and a variant may not share it.
CREATE FUNCTION shop_sku_is_free() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'products' AND EXISTS (SELECT 1 FROM product_variants WHERE sku = NEW.sku) OR
       TG_TABLE_NAME = 'product_variants' AND EXISTS (SELECT 1 FROM products WHERE sku = NEW.sku) THEN
        RAISE EXCEPTION 'SKU % is already in use', NEW.sku
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'sku_unique';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER products_sku_free BEFORE INSERT OR UPDATE OF sku ON products
    FOR EACH ROW EXECUTE FUNCTION shop_sku_is_free();
CREATE TRIGGER product_variants_sku_free BEFORE INSERT OR UPDATE OF sku ON product_variants
    FOR EACH ROW EXECUTE FUNCTION shop_sku_is_free();

-- Every stock change made by a person is kept with its reason.
CREATE TABLE stock_adjustments (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id     BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    variant_id     BIGINT REFERENCES product_variants (id) ON DELETE CASCADE,
    delta          INTEGER NOT NULL CHECK (delta <> 0),
    stock_after    INTEGER NOT NULL CHECK (stock_after >= 0),
    reason         TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    actor_user_id  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX stock_adjustments_product_idx ON stock_adjustments (product_id, created_at DESC);
