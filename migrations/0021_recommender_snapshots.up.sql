-- The training data of a retraining run, taken once and read by each of
-- its steps (evaluate every candidate, train the winner), so every step
-- and every retry after a crash sees the same signals. Kept for a few runs.
CREATE TABLE recommender_snapshots (
    id            TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 200),
    taken_at      TIMESTAMPTZ NOT NULL,
    interactions  INTEGER NOT NULL CHECK (interactions >= 0),
    items         INTEGER NOT NULL CHECK (items >= 0),
    data          BYTEA NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);


-- An operator's rollback pins the model it makes live: the nightly
-- retraining then leaves it alone until `shop recommender unpin`.
ALTER TABLE recommender_models ADD COLUMN pinned BOOLEAN NOT NULL DEFAULT false;
