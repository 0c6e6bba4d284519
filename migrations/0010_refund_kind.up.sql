-- What opened a refund: staff asking for it ('requested') or the
-- cancellation of a paid order ('cancellation'). A retried cancellation
-- finds its refund by this key, never by the reason text, which is for
-- people and may change.
ALTER TABLE refunds ADD COLUMN kind TEXT NOT NULL DEFAULT 'requested'
    CHECK (kind IN ('requested', 'cancellation'));

-- Cancellation refunds opened before this column carry the reason the
-- cancellation gave them, 'order cancelled', on an order that is cancelled;
-- the first one of an order that has not failed is the cancellation's.
UPDATE refunds r SET kind = 'cancellation'
WHERE r.id = (SELECT min(x.id) FROM refunds x
              WHERE x.order_id = r.order_id AND x.reason = 'order cancelled' AND x.status <> 'failed')
  AND EXISTS (SELECT 1 FROM orders o WHERE o.id = r.order_id AND o.status = 'cancelled');

-- An order has at most one cancellation refund that has not failed.
CREATE UNIQUE INDEX refunds_one_cancellation_idx ON refunds (order_id)
    WHERE kind = 'cancellation' AND status <> 'failed';
