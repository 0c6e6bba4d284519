-- Product images. The uploaded original is kept under a content-hashed key
-- of the object store; the ProcessProductImage workflow makes the variants
-- (thumbnail, card, full; WebP plus a JPEG or PNG fallback), stores them
-- under content-hashed keys too and marks the image ready. Only ready images
-- are shown on the storefront.
CREATE TABLE product_images (
    id            BIGSERIAL PRIMARY KEY,
    product_id    BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    -- Object key of the original ("originals/<sha256>.<ext>").
    original_key  TEXT NOT NULL CHECK (original_key <> ''),
    content_type  TEXT NOT NULL,
    byte_size     BIGINT NOT NULL CHECK (byte_size > 0),
    width         INTEGER NOT NULL CHECK (width > 0),
    height        INTEGER NOT NULL CHECK (height > 0),
    alt_text      TEXT NOT NULL DEFAULT '' CHECK (length(alt_text) <= 300),
    -- Display order; the lowest is the primary image.
    position      INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL DEFAULT 'processing' CHECK (status IN ('processing', 'ready', 'failed')),
    failure       TEXT NOT NULL DEFAULT '',
    -- [{"size": "card", "format": "webp", "key": "<sha256>.webp", "width": 480, "height": 360, "bytes": 123}, ...]
    variants      JSONB NOT NULL DEFAULT '[]',
    uploaded_by   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- The same file uploaded twice to one product is one image.
    UNIQUE (product_id, original_key)
);
CREATE INDEX product_images_product_idx ON product_images (product_id, position, id);
CREATE INDEX product_images_original_idx ON product_images (original_key);

-- Image changes are product changes for the cache and the search index.
-- The writers (internal/images) lock the product row first, as variant
-- writes do, so the events of one product stay in commit order.
CREATE TRIGGER product_images_outbox AFTER INSERT OR DELETE ON product_images
    FOR EACH ROW EXECUTE FUNCTION outbox_product_changed();
CREATE TRIGGER product_images_outbox_update AFTER UPDATE ON product_images
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION outbox_product_changed();
