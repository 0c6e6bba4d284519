-- Fulfilment: a paid order's committed reservations become shipments, one
-- per location (a lost parcel's replacement is another). A shipment moves
-- pending -> picked -> packed -> shipped -> in_transit -> out_for_delivery
-- -> delivered; lost and cancelled end it early.
CREATE TABLE shipments (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id         BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    location_id      BIGINT NOT NULL REFERENCES stock_locations (id),
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
                     ('pending', 'picked', 'packed', 'shipped', 'in_transit', 'out_for_delivery',
                      'delivered', 'lost', 'cancelled')),
    carrier          TEXT NOT NULL DEFAULT '' CHECK (length(carrier) <= 50),
    service          TEXT NOT NULL DEFAULT '' CHECK (length(service) <= 100),
    tracking_number  TEXT CHECK (length(tracking_number) BETWEEN 1 AND 100),
    tracking_url     TEXT NOT NULL DEFAULT '' CHECK (length(tracking_url) <= 2000),
    -- The last problem reported by staff or the carrier (staff only).
    problem          TEXT NOT NULL DEFAULT '' CHECK (length(problem) <= 1000),
    overdue          BOOLEAN NOT NULL DEFAULT FALSE,
    -- The lost shipment this one replaces.
    replaces_id      BIGINT REFERENCES shipments (id),
    -- What staff decided for a lost parcel: reship or refund.
    resolution       TEXT NOT NULL DEFAULT '' CHECK (resolution IN ('', 'reship', 'refund')),
    refund_id        BIGINT REFERENCES refunds (id),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    picked_at        TIMESTAMPTZ,
    packed_at        TIMESTAMPTZ,
    shipped_at       TIMESTAMPTZ,
    last_scan_at     TIMESTAMPTZ,
    delivered_at     TIMESTAMPTZ,
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((tracking_number IS NULL) = (status IN ('pending', 'picked', 'packed', 'cancelled') AND shipped_at IS NULL))
);
CREATE INDEX shipments_order_idx ON shipments (order_id, id);
-- The queue: what a location still has to send.
CREATE INDEX shipments_queue_idx ON shipments (location_id, status, id) WHERE status IN ('pending', 'picked', 'packed');
-- One parcel per tracking number and carrier: a scan names exactly one.
CREATE UNIQUE INDEX shipments_tracking_idx ON shipments (carrier, tracking_number);

-- The order lines (and units) a shipment carries.
CREATE TABLE shipment_lines (
    shipment_id  BIGINT NOT NULL REFERENCES shipments (id) ON DELETE CASCADE,
    line         INTEGER NOT NULL,
    product_id   BIGINT NOT NULL REFERENCES products (id),
    variant_id   BIGINT REFERENCES product_variants (id),
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (shipment_id, line)
);

-- Carrier scans, kept once per carrier event id: a replayed webhook is a no-op.
CREATE TABLE shipment_scans (
    event_id     TEXT PRIMARY KEY CHECK (length(event_id) BETWEEN 1 AND 200),
    shipment_id  BIGINT NOT NULL REFERENCES shipments (id) ON DELETE CASCADE,
    status       TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    occurred_at  TIMESTAMPTZ NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX shipment_scans_shipment_idx ON shipment_scans (shipment_id, occurred_at);

-- A reservation belongs to the shipment that sends it; shipping it takes
-- the units off the shelf (on_hand and reserved both drop) at the location
-- that held them. A replacement parcel reserves again, so a reservation is
-- keyed by its own id now.
ALTER TABLE stock_reservations DROP CONSTRAINT stock_reservations_state_check;
ALTER TABLE stock_reservations ADD CONSTRAINT stock_reservations_state_check
    CHECK (state IN ('held', 'committed', 'released', 'shipped'));
ALTER TABLE stock_reservations ADD COLUMN shipment_id BIGINT REFERENCES shipments (id);
ALTER TABLE stock_reservations DROP CONSTRAINT stock_reservations_pkey;
ALTER TABLE stock_reservations ADD COLUMN id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY;
CREATE UNIQUE INDEX stock_reservations_placed_idx ON stock_reservations (order_id, line, location_id) WHERE shipment_id IS NULL;
CREATE INDEX stock_reservations_shipment_idx ON stock_reservations (shipment_id) WHERE shipment_id IS NOT NULL;

-- Every change of an order's status is recorded in the outbox, so the
-- order's workflow in Temporal shows the status PostgreSQL holds, whoever
-- changed it.
CREATE FUNCTION outbox_order_status_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox_events (topic, entity_id, payload)
    VALUES ('order.status_changed', NEW.id, jsonb_build_object('status', NEW.status, 'customer_id', NEW.user_id));
    RETURN NULL;
END $$;
CREATE TRIGGER orders_status_outbox AFTER UPDATE OF status ON orders
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION outbox_order_status_changed();
INSERT INTO outbox_consumers (name, topics) VALUES ('order_workflows', '{order.status_changed}');
-- Orders paid before fulfilment existed get theirs: their status, recorded
-- once more, starts it.
INSERT INTO outbox_events (topic, entity_id, payload)
SELECT 'order.status_changed', o.id, jsonb_build_object('status', o.status, 'customer_id', o.user_id)
FROM orders o WHERE o.status IN ('paid', 'partially_refunded')
  AND EXISTS (SELECT 1 FROM stock_reservations r WHERE r.order_id = o.id AND r.state = 'committed')
ORDER BY o.id;

-- Refunds of a lost parcel's lines (and, later, of returned lines).
ALTER TABLE refunds DROP CONSTRAINT refunds_kind_check;
ALTER TABLE refunds ADD CONSTRAINT refunds_kind_check CHECK (kind IN ('requested', 'cancellation', 'lost_parcel', 'return'));
