DELETE FROM outbox_consumers WHERE name = 'cart_reminders';
DROP TRIGGER IF EXISTS carts_outbox ON carts;
DROP FUNCTION IF EXISTS outbox_cart_changed();
DELETE FROM outbox_consumers WHERE name = 'back_in_stock';
DROP TABLE IF EXISTS back_in_stock_subscriptions;
DROP TABLE IF EXISTS cart_reminder_optouts;
ALTER TABLE carts DROP COLUMN IF EXISTS version;
