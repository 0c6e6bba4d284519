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

INSERT INTO outbox_consumers (name, topics) VALUES ('low_stock', '{product.changed}');
