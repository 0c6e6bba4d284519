-- Categories form a tree; parent_id is NULL for a top-level category.
CREATE TABLE categories (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    slug        TEXT NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    parent_id   BIGINT REFERENCES categories (id) ON DELETE RESTRICT,
    description TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX categories_parent_idx ON categories (parent_id);

-- Money is stored as integer minor units plus an ISO 4217 code; never floats.
CREATE TABLE products (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku            TEXT NOT NULL UNIQUE CHECK (sku ~ '^[A-Z0-9][A-Z0-9._-]{1,63}$'),
    name           TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    description    TEXT NOT NULL DEFAULT '',
    brand          TEXT NOT NULL DEFAULT '',
    category_id    BIGINT NOT NULL REFERENCES categories (id) ON DELETE RESTRICT,
    price_minor    BIGINT NOT NULL CHECK (price_minor >= 0),
    currency       CHAR(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    stock_quantity INTEGER NOT NULL DEFAULT 0 CHECK (stock_quantity >= 0),
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    search_vector  TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector('english', coalesce(name, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(brand, '')), 'B') ||
        setweight(to_tsvector('english', coalesce(description, '')), 'C')
    ) STORED,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX products_category_idx ON products (category_id, id) WHERE active;
CREATE INDEX products_search_idx ON products USING GIN (search_vector);
