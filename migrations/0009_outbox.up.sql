-- The transactional outbox. A change that others must hear about is an
-- outbox_events row written in the same transaction as the change; a trigger
-- fans it out to one outbox_deliveries row per consumer that subscribes to
-- its topic, and the relay (internal/outbox, run by `shop worker`) hands the
-- pending rows of each consumer to it in id order and deletes them once
-- delivered. A rolled-back write leaves no event; a committed one is
-- delivered at least once, whatever was down at write time.
CREATE TABLE outbox_events (
    id          BIGSERIAL PRIMARY KEY,
    topic       TEXT NOT NULL CHECK (topic <> ''),
    -- The entity the event is about (a product id for product.changed):
    -- events of one entity are delivered in the order they were written.
    entity_id   BIGINT NOT NULL,
    payload     JSONB NOT NULL DEFAULT '{}',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX outbox_events_created_idx ON outbox_events (created_at);

-- A consumer is registered here, by a migration, so that no event written
-- before its first run is missed.
CREATE TABLE outbox_consumers (
    name    TEXT PRIMARY KEY CHECK (name <> ''),
    topics  TEXT[] NOT NULL
);

CREATE TABLE outbox_deliveries (
    consumer    TEXT NOT NULL REFERENCES outbox_consumers (name) ON DELETE CASCADE,
    event_id    BIGINT NOT NULL REFERENCES outbox_events (id) ON DELETE CASCADE,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT '',
    -- Set when the consumer refused the event for good: the relay skips it
    -- until an operator clears it (see the README).
    parked_at   TIMESTAMPTZ,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX outbox_deliveries_event_idx ON outbox_deliveries (event_id);

CREATE FUNCTION outbox_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox_deliveries (consumer, event_id)
        SELECT name, NEW.id FROM outbox_consumers WHERE NEW.topic = ANY (topics);
    -- One notification per transaction wakes the relays at commit.
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_fan_out AFTER INSERT ON outbox_events
    FOR EACH ROW EXECUTE FUNCTION outbox_fan_out();

-- Catalog changes are recorded by the tables themselves, so every writer
-- (API, checkout, import, a script in psql) triggers the same side effects.
--
-- Events of one product are recorded in commit order: a write to a product
-- row holds its lock until commit, and a variant write takes the product
-- row's lock before recording, so a later writer of the same product gets a
-- later event id and the relay never sees it before the earlier one.
CREATE FUNCTION outbox_product_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    product BIGINT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        product := CASE TG_TABLE_NAME WHEN 'products' THEN OLD.id ELSE OLD.product_id END;
    ELSIF TG_TABLE_NAME = 'products' THEN
        product := NEW.id;
    ELSE
        product := NEW.product_id;
    END IF;
    IF TG_TABLE_NAME = 'product_variants' THEN
        PERFORM 1 FROM products WHERE id = product FOR NO KEY UPDATE;
        IF TG_OP = 'UPDATE' AND OLD.product_id <> NEW.product_id THEN
            -- A variant moved: its former product changed too.
            PERFORM 1 FROM products WHERE id = OLD.product_id FOR NO KEY UPDATE;
            INSERT INTO outbox_events (topic, entity_id) VALUES ('product.changed', OLD.product_id);
        END IF;
    END IF;
    INSERT INTO outbox_events (topic, entity_id) VALUES ('product.changed', product);
    RETURN NULL;
END $$;

CREATE FUNCTION outbox_category_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO outbox_events (topic, entity_id) VALUES ('category.changed', OLD.id);
    ELSE
        INSERT INTO outbox_events (topic, entity_id) VALUES ('category.changed', NEW.id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER products_outbox AFTER INSERT OR DELETE ON products
    FOR EACH ROW EXECUTE FUNCTION outbox_product_changed();
CREATE TRIGGER products_outbox_update AFTER UPDATE ON products
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION outbox_product_changed();
CREATE TRIGGER product_variants_outbox AFTER INSERT OR DELETE ON product_variants
    FOR EACH ROW EXECUTE FUNCTION outbox_product_changed();
CREATE TRIGGER product_variants_outbox_update AFTER UPDATE ON product_variants
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION outbox_product_changed();
CREATE TRIGGER categories_outbox AFTER INSERT OR DELETE ON categories
    FOR EACH ROW EXECUTE FUNCTION outbox_category_changed();
CREATE TRIGGER categories_outbox_update AFTER UPDATE ON categories
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION outbox_category_changed();

-- The storefront cache and the search index hear every catalog change;
-- product.resync is the search index's own queue of products to re-read
-- (every product under a changed category), delivered in batches.
INSERT INTO outbox_consumers (name, topics) VALUES
    ('cache', '{product.changed,category.changed}'),
    ('search', '{product.changed,category.changed,product.resync}');
