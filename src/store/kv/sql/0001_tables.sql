-- One table per linkdock table: ordered bytes to opaque bytes. bytea compares bytewise,
-- the order the typed layer encodes its keys in.
CREATE TABLE meta_v1 (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE users_v1 (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE sessions_v1 (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE domains_v1 (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE domain_by_host_v1 (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE links_v2 (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE clicks_v1 (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE api_keys_v1 (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE key_usage_v1 (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE key_requests_v1 (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE playground_history_v1 (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE audit_v1 (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE invites_v1 (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE invite_by_digest_v1 (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE key_usage_hours_v1 (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE key_usage_days_v1 (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE link_days_v1 (k bytea PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE setup_v1 (k bytea PRIMARY KEY, v bytea NOT NULL);

-- The change feed. Every writer locks this one row first, so commits are ordered across
-- nodes; a commit that touched watched tables bumps `seq`. `pruned` is the newest sequence
-- whose rows were dropped: a cursor below it has missed changes.
CREATE TABLE linkdock_counter (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    seq bigint NOT NULL,
    pruned bigint NOT NULL
);
INSERT INTO linkdock_counter (id, seq, pruned) VALUES (true, 0, 0);

-- (table, key) of each changed row, by commit; `n` keeps a commit's rows in write order.
CREATE TABLE linkdock_changes (
    seq bigint NOT NULL,
    n integer NOT NULL,
    tbl text NOT NULL,
    k bytea NOT NULL,
    at timestamptz NOT NULL DEFAULT statement_timestamp(),
    PRIMARY KEY (seq, n)
);
