-- Carts: one per signed-in user. Lines keep the price seen when added, so a
-- later catalog change is shown to the shopper instead of silently applied.
CREATE TABLE carts (
    user_id          BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    coupon_code      TEXT,
    shipping_method  TEXT NOT NULL DEFAULT 'standard',
    shipping_country CHAR(2) CHECK (shipping_country ~ '^[A-Z]{2}$'),
    shipping_region  TEXT NOT NULL DEFAULT '',
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE cart_items (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id          BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    product_id       BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    variant_id       BIGINT REFERENCES product_variants (id) ON DELETE CASCADE,
    quantity         INTEGER NOT NULL CHECK (quantity > 0),
    added_price_minor BIGINT NOT NULL CHECK (added_price_minor >= 0),
    currency         CHAR(3) NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- One line per product or variant in a cart.
CREATE UNIQUE INDEX cart_items_line ON cart_items (user_id, product_id, coalesce(variant_id, 0));

-- Coupons: a percentage (basis points) or a fixed amount off the goods.
CREATE TABLE coupons (
    code               TEXT PRIMARY KEY CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{1,31}$'),
    kind               TEXT NOT NULL CHECK (kind IN ('percent', 'fixed')),
    percent_bp         INTEGER CHECK (percent_bp BETWEEN 1 AND 10000),
    amount_off_minor   BIGINT CHECK (amount_off_minor > 0),
    currency           CHAR(3),
    min_subtotal_minor BIGINT NOT NULL DEFAULT 0 CHECK (min_subtotal_minor >= 0),
    starts_at          TIMESTAMPTZ,
    ends_at            TIMESTAMPTZ,
    max_uses           INTEGER CHECK (max_uses > 0),
    max_uses_per_user  INTEGER CHECK (max_uses_per_user > 0),
    uses               INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0),
    active             BOOLEAN NOT NULL DEFAULT TRUE,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((kind = 'percent') = (percent_bp IS NOT NULL)),
    CHECK ((kind = 'fixed') = (amount_off_minor IS NOT NULL AND currency IS NOT NULL)),
    CHECK (max_uses IS NULL OR uses <= max_uses)
);

CREATE TYPE order_status AS ENUM (
    'awaiting_payment', 'paid', 'payment_failed', 'cancelled', 'partially_refunded', 'refunded'
);

-- An order row is written in the same transaction that reserves its stock,
-- so an order that exists always holds (or has released) its stock.
CREATE TABLE orders (
    id                  BIGINT PRIMARY KEY,
    user_id             BIGINT NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    status              order_status NOT NULL,
    currency            CHAR(3) NOT NULL,
    subtotal_minor      BIGINT NOT NULL CHECK (subtotal_minor >= 0),
    discount_minor      BIGINT NOT NULL CHECK (discount_minor >= 0),
    shipping_minor      BIGINT NOT NULL CHECK (shipping_minor >= 0),
    tax_minor           BIGINT NOT NULL CHECK (tax_minor >= 0),
    tax_ppm             BIGINT NOT NULL CHECK (tax_ppm >= 0),
    total_minor         BIGINT NOT NULL CHECK (total_minor >= 0),
    captured_minor      BIGINT NOT NULL DEFAULT 0 CHECK (captured_minor >= 0),
    refunded_minor      BIGINT NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
    coupon_code         TEXT REFERENCES coupons (code),
    shipping_method     TEXT NOT NULL,
    shipping_address    TEXT NOT NULL,
    billing_address     TEXT NOT NULL,
    shipping_country    CHAR(2) NOT NULL,
    shipping_region     TEXT NOT NULL DEFAULT '',
    payment_method      TEXT NOT NULL,
    payment_intent_id   TEXT UNIQUE,
    status_reason       TEXT NOT NULL DEFAULT '',
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    paid_at             TIMESTAMPTZ,
    CHECK (refunded_minor <= captured_minor),
    CHECK (captured_minor <= total_minor)
);
CREATE SEQUENCE order_ids START 1000 OWNED BY orders.id;
CREATE INDEX orders_user_idx ON orders (user_id, id DESC);
CREATE INDEX orders_status_idx ON orders (status, id DESC);

CREATE TABLE order_items (
    order_id          BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line              INTEGER NOT NULL,
    product_id        BIGINT NOT NULL REFERENCES products (id),
    variant_id        BIGINT REFERENCES product_variants (id),
    sku               TEXT NOT NULL,
    name              TEXT NOT NULL,
    quantity          INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_minor  BIGINT NOT NULL CHECK (unit_price_minor >= 0),
    line_total_minor  BIGINT NOT NULL CHECK (line_total_minor >= 0),
    PRIMARY KEY (order_id, line)
);

-- The status timeline shown with an order.
CREATE TABLE order_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id   BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    status     TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX order_events_order_idx ON order_events (order_id, id);

-- Stock held for an order: held -> committed (paid) or released (failed,
-- cancelled, timed out). The row's state makes release idempotent.
CREATE TABLE stock_reservations (
    order_id   BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line       INTEGER NOT NULL,
    product_id BIGINT NOT NULL REFERENCES products (id),
    variant_id BIGINT REFERENCES product_variants (id),
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    state      TEXT NOT NULL CHECK (state IN ('held', 'committed', 'released')),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, line)
);

CREATE TABLE coupon_redemptions (
    order_id    BIGINT PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
    coupon_code TEXT NOT NULL REFERENCES coupons (code),
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX coupon_redemptions_user_idx ON coupon_redemptions (coupon_code, user_id);

-- Idempotency-Key of POST /api/orders: the same key from the same user
-- always names the same order.
CREATE TABLE order_idempotency_keys (
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    request_hash BYTEA NOT NULL,
    order_id     BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

CREATE TABLE refunds (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id         BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    amount_minor     BIGINT NOT NULL CHECK (amount_minor > 0),
    currency         CHAR(3) NOT NULL,
    reason           TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'needs_attention', 'failed')),
    stripe_refund_id TEXT UNIQUE,
    last_error       TEXT NOT NULL DEFAULT '',
    requested_by     BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX refunds_order_idx ON refunds (order_id);

-- Each Stripe event is processed once; duplicates and replays are no-ops.
CREATE TABLE stripe_events (
    id           TEXT PRIMARY KEY,
    type         TEXT NOT NULL,
    order_id     BIGINT,
    payload      JSONB NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    processed_at TIMESTAMPTZ
);
