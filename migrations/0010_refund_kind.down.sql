DROP INDEX IF EXISTS refunds_one_cancellation_idx;
ALTER TABLE refunds DROP COLUMN IF EXISTS kind;
