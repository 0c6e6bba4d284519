DELETE FROM outbox_consumers WHERE name = 'event_store';
CREATE OR REPLACE FUNCTION outbox_order_status_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox_events (topic, entity_id, payload)
    VALUES ('order.status_changed', NEW.id, jsonb_build_object('status', NEW.status, 'customer_id', NEW.user_id));
    RETURN NULL;
END $$;
DROP TRIGGER orders_placed_outbox ON orders;
DROP FUNCTION outbox_order_placed();
DROP FUNCTION behaviour_events_ensure_partitions(DATE, DATE);
DROP TABLE behaviour_events;
