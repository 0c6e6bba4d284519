ALTER TABLE recommender_models DROP COLUMN pinned;
DROP TABLE recommender_snapshots;
