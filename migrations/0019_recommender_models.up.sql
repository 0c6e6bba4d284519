-- Trained recommendation models. `shop recommender train` saves one as a
-- candidate and publishes it; serving loads the live one and hot-reloads
-- on NOTIFY recommender_model. Rollback publishes an older version again.
CREATE TABLE recommender_models (
    version     TEXT PRIMARY KEY CHECK (length(version) BETWEEN 1 AND 100),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    status      TEXT NOT NULL DEFAULT 'candidate'
                CHECK (status IN ('candidate', 'live', 'rejected', 'retired')),
    metrics     JSONB NOT NULL DEFAULT '{}',
    -- What training printed, or why the model was rejected.
    report      TEXT NOT NULL DEFAULT '',
    data        BYTEA NOT NULL,
    size_bytes  BIGINT NOT NULL CHECK (size_bytes >= 0),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- At most one model serves.
CREATE UNIQUE INDEX recommender_models_one_live ON recommender_models ((true)) WHERE status = 'live';
CREATE INDEX recommender_models_created_idx ON recommender_models (created_at DESC);
