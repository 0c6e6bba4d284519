-- Returns (RMA): a customer asks to send back units of delivered parcels;
-- staff approve or refuse, receive the parcel (resellable units go back on
-- hand at a location, damaged ones do not) and the refund follows, once.
-- A line may ask for another variant of the same product instead: the
-- replacement leaves in a parcel of its own (shipments.return_id).
-- requested -> approved -> received -> refunded; refused and expired
-- (approved but not received in time) end it early.
CREATE TABLE returns (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id              BIGINT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    status                TEXT NOT NULL DEFAULT 'requested' CHECK (status IN
                          ('requested', 'approved', 'refused', 'received', 'refunded', 'expired')),
    reason                TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
    customer_note         TEXT NOT NULL DEFAULT '' CHECK (length(customer_note) <= 1000),
    staff_note            TEXT NOT NULL DEFAULT '' CHECK (length(staff_note) <= 1000),
    restocking_fee_minor  BIGINT NOT NULL DEFAULT 0 CHECK (restocking_fee_minor >= 0),
    shipping_refund_minor BIGINT NOT NULL DEFAULT 0 CHECK (shipping_refund_minor >= 0),
    refund_id             BIGINT REFERENCES refunds (id),
    decided_by            BIGINT REFERENCES users (id) ON DELETE SET NULL,
    received_by           BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    decided_at            TIMESTAMPTZ,
    received_at           TIMESTAMPTZ,
    closed_at             TIMESTAMPTZ,
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((decided_at IS NULL) = (status = 'requested')),
    CHECK ((received_at IS NULL) = (status IN ('requested', 'approved', 'refused', 'expired')))
);
CREATE INDEX returns_order_idx ON returns (order_id, id);
-- Staff's queue by status.
CREATE INDEX returns_status_idx ON returns (status, id);

-- The units of order lines a return sends back.
CREATE TABLE return_lines (
    return_id           BIGINT NOT NULL REFERENCES returns (id) ON DELETE CASCADE,
    line                INTEGER NOT NULL,
    quantity            INTEGER NOT NULL CHECK (quantity > 0),
    reason              TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
    -- Once received: how many units can be sold again (back on hand at
    -- location_id) and how many are damaged (written off).
    resellable          INTEGER CHECK (resellable >= 0),
    damaged             INTEGER CHECK (damaged >= 0),
    location_id         BIGINT REFERENCES stock_locations (id),
    -- Another variant of the same product wanted instead of money back,
    -- and its unit price when asked (never above the line's).
    exchange_variant_id BIGINT REFERENCES product_variants (id),
    exchange_unit_minor BIGINT CHECK (exchange_unit_minor >= 0),
    PRIMARY KEY (return_id, line),
    CHECK ((resellable IS NULL) = (damaged IS NULL)),
    CHECK (resellable IS NULL OR resellable + damaged = quantity),
    CHECK ((exchange_variant_id IS NULL) = (exchange_unit_minor IS NULL))
);

-- A replacement parcel sent for a return's exchange lines.
ALTER TABLE shipments ADD COLUMN return_id BIGINT REFERENCES returns (id);
CREATE INDEX shipments_return_idx ON shipments (return_id) WHERE return_id IS NOT NULL;
