DROP TABLE liaisons;
ALTER TABLE users DROP COLUMN email;
