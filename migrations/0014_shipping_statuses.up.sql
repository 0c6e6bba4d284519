-- The order's statuses after the payment. Added in a migration of their own:
-- a new enum value cannot be used in the transaction that adds it.
ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'partially_shipped' AFTER 'paid';
ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'shipped' AFTER 'partially_shipped';
ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'delivered' AFTER 'shipped';
