DELETE FROM outbox_consumers WHERE name = 'back_in_stock';
DROP TABLE IF EXISTS back_in_stock_subscriptions;
DROP TABLE IF EXISTS cart_reminder_optouts;
ALTER TABLE carts DROP COLUMN IF EXISTS version;
