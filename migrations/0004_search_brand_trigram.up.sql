-- Lets typo-tolerant search find brand candidates through an index instead
-- of scanning every product.
CREATE INDEX products_brand_trgm_idx ON products USING GIN (shop_unaccent(lower(brand)) gin_trgm_ops);
