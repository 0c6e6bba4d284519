DROP TABLE IF EXISTS product_images;
