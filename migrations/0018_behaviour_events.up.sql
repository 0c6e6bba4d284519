-- The behaviour event store: what shoppers do (views, searches, cart
-- changes, checkouts; sent by the storefront to POST /api/events) and the
-- order facts the shop records itself (placed, paid, shipped, delivered,
-- cancelled, refunded; from the outbox). The recommender and sales
-- analytics both read it.
--
-- It grows by tens of millions of rows, so it is partitioned by month of
-- occurred_at: old months are dropped whole (retention, EVENT_RETENTION)
-- and reads for a time range touch only their months. The DEFAULT partition
-- takes a row whose month has no partition yet, so an insert never fails;
-- behaviour_events_ensure_partitions moves such rows into their month when
-- it creates it. The EventMaintenance workflow (Temporal Schedule
-- event-maintenance) keeps the next months created and prunes the old.
CREATE TABLE behaviour_events (
    id            BIGINT GENERATED ALWAYS AS IDENTITY,
    occurred_at   TIMESTAMPTZ NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    kind          TEXT NOT NULL CHECK (kind IN (
                      'view', 'search', 'add_to_cart', 'remove_from_cart', 'checkout_started',
                      'order_placed', 'order_paid', 'order_shipped', 'order_delivered',
                      'order_cancelled', 'order_refunded')),
    -- The storefront's session; NULL for order facts.
    session_id    TEXT CHECK (length(session_id) BETWEEN 8 AND 128),
    -- The signed-in shopper (from the access token, never from the body).
    user_id       BIGINT,
    product_id    BIGINT CHECK (product_id > 0),
    variant_id    BIGINT CHECK (variant_id > 0),
    quantity      INTEGER CHECK (quantity > 0),
    query         TEXT CHECK (length(query) <= 200),
    order_id      BIGINT,
    amount_minor  BIGINT,
    currency      CHAR(3),
    -- Stores an event once: "c:<session>:<client event id>" for the
    -- storefront's events, "order-<id>-<status>" for order facts.
    dedup_key     TEXT NOT NULL CHECK (length(dedup_key) BETWEEN 1 AND 300),
    PRIMARY KEY (occurred_at, id),
    -- Unique within a partition; the key leads so a retry is found by it.
    UNIQUE (dedup_key, occurred_at),
    CHECK ((amount_minor IS NULL) = (currency IS NULL))
) PARTITION BY RANGE (occurred_at);

CREATE TABLE behaviour_events_default PARTITION OF behaviour_events DEFAULT;

-- The recommender reads a shopper's and a product's recent history;
-- analytics count kinds over time.
CREATE INDEX behaviour_events_user_idx ON behaviour_events (user_id, occurred_at) WHERE user_id IS NOT NULL;
CREATE INDEX behaviour_events_product_idx ON behaviour_events (product_id, occurred_at) WHERE product_id IS NOT NULL;
CREATE INDEX behaviour_events_kind_idx ON behaviour_events (kind, occurred_at);
CREATE INDEX behaviour_events_session_idx ON behaviour_events (session_id, occurred_at) WHERE session_id IS NOT NULL;

-- behaviour_events_ensure_partitions creates the monthly partitions (UTC
-- months) from the month of from_day to the month of to_day, both
-- included, and answers how many it created. Rows the DEFAULT partition
-- holds for a new month move into it.
CREATE FUNCTION behaviour_events_ensure_partitions(from_day DATE, to_day DATE) RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
    month   DATE := date_trunc('month', from_day)::date;
    last    DATE := date_trunc('month', to_day)::date;
    name    TEXT;
    lo      TIMESTAMPTZ;
    hi      TIMESTAMPTZ;
    created INTEGER := 0;
BEGIN
    -- One creator at a time: two would race on the same name.
    PERFORM pg_advisory_xact_lock(hashtextextended('behaviour_events_partitions', 0));
    WHILE month <= last LOOP
        name := 'behaviour_events_' || to_char(month, 'YYYY_MM');
        lo := month::timestamp AT TIME ZONE 'UTC';
        hi := (month + interval '1 month')::timestamp AT TIME ZONE 'UTC';
        IF to_regclass(name) IS NULL THEN
            IF EXISTS (SELECT 1 FROM behaviour_events_default WHERE occurred_at >= lo AND occurred_at < hi) THEN
                CREATE TEMP TABLE behaviour_events_moving ON COMMIT DROP AS
                    SELECT * FROM behaviour_events_default WHERE occurred_at >= lo AND occurred_at < hi;
                DELETE FROM behaviour_events_default WHERE occurred_at >= lo AND occurred_at < hi;
                EXECUTE format('CREATE TABLE %I PARTITION OF behaviour_events FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
                INSERT INTO behaviour_events OVERRIDING SYSTEM VALUE SELECT * FROM behaviour_events_moving;
                DROP TABLE behaviour_events_moving;
            ELSE
                EXECUTE format('CREATE TABLE %I PARTITION OF behaviour_events FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
            END IF;
            created := created + 1;
        END IF;
        month := (month + interval '1 month')::date;
    END LOOP;
    RETURN created;
END $$;

SELECT behaviour_events_ensure_partitions((now() - interval '2 months')::date, (now() + interval '2 months')::date);

-- Order facts come through the outbox: a placed order is recorded by the
-- orders table itself, and status changes carry the amounts now.
CREATE FUNCTION outbox_order_placed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox_events (topic, entity_id, payload)
    VALUES ('order.placed', NEW.id, jsonb_build_object('status', NEW.status, 'customer_id', NEW.user_id,
        'total_minor', NEW.total_minor, 'currency', NEW.currency, 'placed_at', NEW.created_at));
    RETURN NULL;
END $$;
CREATE TRIGGER orders_placed_outbox AFTER INSERT ON orders
    FOR EACH ROW EXECUTE FUNCTION outbox_order_placed();

CREATE OR REPLACE FUNCTION outbox_order_status_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox_events (topic, entity_id, payload)
    VALUES ('order.status_changed', NEW.id, jsonb_build_object('status', NEW.status, 'customer_id', NEW.user_id,
        'total_minor', NEW.total_minor, 'refunded_minor', NEW.refunded_minor, 'currency', NEW.currency));
    RETURN NULL;
END $$;

INSERT INTO outbox_consumers (name, topics) VALUES ('event_store', '{order.placed,order.status_changed}');
