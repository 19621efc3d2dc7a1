-- Version 2: change tracking for the metrics engine's in-memory per-day cache (edge/metrics).
-- Every insert, update or delete of a call bumps one generation counter and stamps the UTC hour
-- (arrived_ms / 3600000) the call arrived in with the new generation. The engine remembers the
-- generation it last saw and reloads only the local days holding an hour stamped after it, so its
-- cache stays exact when tags change, calls finish or retention purges records. One row per hour
-- that ever held a call: the table stays small (8,760 rows a year).
CREATE TABLE metrics_generation (
  id  INTEGER PRIMARY KEY CHECK (id = 1),
  n   INTEGER NOT NULL
);
INSERT INTO metrics_generation (id, n) VALUES (1, 0);

CREATE TABLE metrics_dirty (
  hour INTEGER PRIMARY KEY,                   -- arrived_ms / 3600000 (UTC hours since the epoch)
  gen  INTEGER NOT NULL                       -- the generation of the last change in that hour
);
CREATE INDEX metrics_dirty_gen ON metrics_dirty (gen);

CREATE TRIGGER metrics_calls_insert AFTER INSERT ON calls BEGIN
  UPDATE metrics_generation SET n = n + 1 WHERE id = 1;
  INSERT INTO metrics_dirty (hour, gen) VALUES (NEW.arrived_ms / 3600000, (SELECT n FROM metrics_generation WHERE id = 1))
    ON CONFLICT (hour) DO UPDATE SET gen = excluded.gen;
END;

CREATE TRIGGER metrics_calls_update AFTER UPDATE ON calls BEGIN
  UPDATE metrics_generation SET n = n + 1 WHERE id = 1;
  INSERT INTO metrics_dirty (hour, gen) VALUES (OLD.arrived_ms / 3600000, (SELECT n FROM metrics_generation WHERE id = 1))
    ON CONFLICT (hour) DO UPDATE SET gen = excluded.gen;
  INSERT INTO metrics_dirty (hour, gen) VALUES (NEW.arrived_ms / 3600000, (SELECT n FROM metrics_generation WHERE id = 1))
    ON CONFLICT (hour) DO UPDATE SET gen = excluded.gen;
END;

CREATE TRIGGER metrics_calls_delete AFTER DELETE ON calls BEGIN
  UPDATE metrics_generation SET n = n + 1 WHERE id = 1;
  INSERT INTO metrics_dirty (hour, gen) VALUES (OLD.arrived_ms / 3600000, (SELECT n FROM metrics_generation WHERE id = 1))
    ON CONFLICT (hour) DO UPDATE SET gen = excluded.gen;
END;
