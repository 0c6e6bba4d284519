DELETE FROM outbox_consumers WHERE name = 'low_stock';
DROP TABLE IF EXISTS low_stock_armed;
DROP TABLE IF EXISTS low_stock_alerts;
