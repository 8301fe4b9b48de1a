-- Addresses are compared byte by byte, as SQLite does: the database's locale collation (even
-- C.UTF-8 or en_US.UTF-8) makes every comparison in the address index a strcoll() call and turns
-- off abbreviated keys when sorting, which made a million-row import some 15% slower. Equality,
-- and so uniqueness, is the same under both; only the order of a listing changes, to SQLite's.
ALTER TABLE subscribers ALTER COLUMN email TYPE TEXT COLLATE "C";
ALTER TABLE bounce_reports ALTER COLUMN recipient TYPE TEXT COLLATE "C";
