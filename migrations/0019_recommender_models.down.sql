DROP TABLE recommender_models;
