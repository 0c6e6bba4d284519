DROP INDEX IF EXISTS products_brand_trgm_idx;
