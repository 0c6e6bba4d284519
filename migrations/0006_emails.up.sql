-- One row per business event that sends an email (dedup_key, e.g.
-- "order-42-confirmation"): the send activity checks it so that a retried or
-- repeated event never mails the customer twice.
CREATE TABLE emails (
    dedup_key   TEXT PRIMARY KEY CHECK (dedup_key <> ''),
    kind        TEXT NOT NULL,
    -- No foreign key: emails outlive the rows they mention and orders are
    -- migrated separately.
    order_id    BIGINT,
    recipient   TEXT NOT NULL,
    subject     TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'failed')),
    -- The Message-ID header, derived from dedup_key, so receivers can drop a
    -- copy sent again after a crash between delivery and this row's update.
    message_id  TEXT NOT NULL DEFAULT '',
    attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at     TIMESTAMPTZ,
    CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
CREATE INDEX emails_order_idx ON emails (order_id);
