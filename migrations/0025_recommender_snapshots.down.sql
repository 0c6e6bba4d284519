DROP TABLE recommender_snapshots;
