DELETE FROM outbox_consumers WHERE name = 'analytics_rollup';
DROP TRIGGER IF EXISTS orders_analytics_outbox ON orders;
DROP FUNCTION IF EXISTS outbox_order_analytics();
DROP TABLE IF EXISTS analytics_sessions_hourly;
DROP TABLE IF EXISTS analytics_sales_hourly;
DROP TABLE IF EXISTS analytics_rollup_hours;
DROP INDEX IF EXISTS orders_user_paid_idx;
DROP INDEX IF EXISTS orders_paid_idx;
