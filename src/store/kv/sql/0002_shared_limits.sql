-- Rate limits shared by the nodes: per-minute counts and the nodes that share them.
CREATE TABLE key_minutes_v1 (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE failure_minutes_v1 (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE nodes_v1 (k bytea PRIMARY KEY, v bytea NOT NULL);
