-- +goose Up
-- Several servers (cluster nodes) may share one database: live_run holds
-- one row a running server instead of one for the whole database, so
-- that a node starting, or forgetting what crashed runs kept, leaves the
-- rows of the other nodes' live meetings alone.
CREATE TABLE live_run_next (
    run       TEXT PRIMARY KEY,            -- a server run (random at each start)
    alive_at  TEXT COLLATE "C" NOT NULL    -- when it last said it was alive
);
INSERT INTO live_run_next (run, alive_at) SELECT run, alive_at FROM live_run;
DROP TABLE live_run;
ALTER TABLE live_run_next RENAME TO live_run;
