-- One row per product whose sellable stock (its own plus its active
-- variants') fell below the low-stock threshold: staff are emailed once per
-- crossing (notified_at), and the row is dropped when the stock is back at
-- or above the threshold, so the next crossing alerts again.
CREATE TABLE low_stock_alerts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id   BIGINT NOT NULL UNIQUE REFERENCES products (id) ON DELETE CASCADE,
    stock        INTEGER NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    notified_at  TIMESTAMPTZ
);

-- Products seen at or above the threshold: only these alert when they fall
-- below it, so a product created or imported with little stock does not.
CREATE TABLE low_stock_armed (
    product_id  BIGINT PRIMARY KEY REFERENCES products (id) ON DELETE CASCADE
);

INSERT INTO outbox_consumers (name, topics) VALUES ('low_stock', '{product.changed}');
