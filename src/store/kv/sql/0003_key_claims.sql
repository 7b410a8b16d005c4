-- A key's rate limit is shared by claims (each node's share of the minute, recorded before it
-- counts past its part), not by counts added after the fact, which let a burst pass the limit.
-- key_minutes_v1 stays while nodes of the build before may still be running (a rolling
-- upgrade); a later version drops it.
CREATE TABLE key_claims_v1 (k bytea PRIMARY KEY, v bytea NOT NULL);
