-- Sales analytics (internal/analytics). Sales come from the orders
-- themselves (dated by paid_at), sessions from the behaviour event store;
-- closed UTC hours are rolled up into the *_hourly tables below by the
-- AnalyticsRollup schedule and the AnalyticsBackfill workflow, and a late
-- change of an old order re-rolls its hour through the outbox.

-- Sales are read by payment time, and "had this shopper paid before?".
CREATE INDEX orders_paid_idx ON orders (paid_at) WHERE paid_at IS NOT NULL;
CREATE INDEX orders_user_paid_idx ON orders (user_id, paid_at, id) WHERE paid_at IS NOT NULL;

-- The UTC hours whose facts are rolled up; an hour missing here is read
-- from the raw rows. Written in the transaction that writes its facts.
CREATE TABLE analytics_rollup_hours (
    hour      TIMESTAMPTZ PRIMARY KEY CHECK (date_trunc('hour', hour, 'UTC') = hour),
    rolled_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Sale facts of one UTC hour (of paid_at) per dimension: 'all' (key
-- 'all'), 'product' (product id), 'category' (category id), 'country'
-- (shipping country); one row per currency. Every measure is additive over
-- hours (README, "Metric definitions").
CREATE TABLE analytics_sales_hourly (
    dim              TEXT NOT NULL CHECK (dim IN ('all', 'product', 'category', 'country')),
    hour             TIMESTAMPTZ NOT NULL,
    key              TEXT NOT NULL,
    currency         CHAR(3) NOT NULL,
    orders           BIGINT NOT NULL,
    units            BIGINT NOT NULL,
    gross_minor      BIGINT NOT NULL,
    refunded_minor   BIGINT NOT NULL,
    refunded_orders  BIGINT NOT NULL,
    new_customers    BIGINT NOT NULL,
    returning_orders BIGINT NOT NULL,
    PRIMARY KEY (dim, hour, key, currency)
);

-- Session facts of one UTC hour (of the session's first event) per
-- dimension: 'all', 'product', 'category'.
CREATE TABLE analytics_sessions_hourly (
    dim          TEXT NOT NULL CHECK (dim IN ('all', 'product', 'category')),
    hour         TIMESTAMPTZ NOT NULL,
    key          TEXT NOT NULL,
    sessions     BIGINT NOT NULL,
    converted    BIGINT NOT NULL,
    cart         BIGINT NOT NULL,
    abandoned    BIGINT NOT NULL,
    PRIMARY KEY (dim, hour, key)
);

-- A paid order whose status or refunded amount changes (a refund, a
-- cancellation) tells analytics, which re-rolls the hour it was paid in.
CREATE FUNCTION outbox_order_analytics() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox_events (topic, entity_id, payload)
    VALUES ('analytics.order_changed', NEW.id, jsonb_build_object('paid_at', NEW.paid_at, 'status', NEW.status,
        'refunded_minor', NEW.refunded_minor));
    RETURN NULL;
END $$;
CREATE TRIGGER orders_analytics_outbox AFTER UPDATE OF status, refunded_minor, paid_at ON orders
    FOR EACH ROW WHEN (NEW.paid_at IS NOT NULL AND (OLD.status IS DISTINCT FROM NEW.status
        OR OLD.refunded_minor IS DISTINCT FROM NEW.refunded_minor OR OLD.paid_at IS DISTINCT FROM NEW.paid_at))
    EXECUTE FUNCTION outbox_order_analytics();

INSERT INTO outbox_consumers (name, topics) VALUES ('analytics_rollup', '{analytics.order_changed}');
