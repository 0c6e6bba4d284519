-- Every change of a cart bumps its version: the abandoned-cart reminders
-- are keyed by it, so a reminder is sent at most once per cart state.
ALTER TABLE carts ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- Shoppers who followed the unsubscribe link of a cart reminder.
CREATE TABLE cart_reminder_optouts (
    user_id     BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- "Email me when it is back": one pending subscription per shopper and
-- product or variant (variant_id NULL: the product itself). Once the email
-- is asked for, notified_at is set and a new subscription may follow.
CREATE TABLE back_in_stock_subscriptions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    product_id   BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    variant_id   BIGINT REFERENCES product_variants (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    notified_at  TIMESTAMPTZ
);
CREATE UNIQUE INDEX back_in_stock_pending_idx ON back_in_stock_subscriptions (user_id, product_id, coalesce(variant_id, 0))
    WHERE notified_at IS NULL;
CREATE INDEX back_in_stock_product_idx ON back_in_stock_subscriptions (product_id) WHERE notified_at IS NULL;

-- The back-in-stock emails follow catalog changes through the outbox.
INSERT INTO outbox_consumers (name, topics) VALUES ('back_in_stock', '{product.changed}');

-- Every cart change (its version grows) is recorded in the outbox in the
-- change's transaction, so the cart's reminders are reset whoever changed it
-- (the API, checkout emptying it) and even when Temporal was down then.
CREATE FUNCTION outbox_cart_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox_events (topic, entity_id) VALUES ('cart.changed', NEW.user_id);
    RETURN NULL;
END $$;
CREATE TRIGGER carts_outbox AFTER UPDATE OF version ON carts
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version) EXECUTE FUNCTION outbox_cart_changed();
INSERT INTO outbox_consumers (name, topics) VALUES ('cart_reminders', '{cart.changed}');
