-- Read-your-writes with a read replica (`DATABASE_REPLICA_URL`, `storage::replica`): the
-- primary's WAL position after each account's last committed change (`pg_lsn - '0/0'`, in
-- bytes). A read of the account's lists goes to the replica only once the replica has
-- replayed that far. Written only when a replica is configured; one row per account.
CREATE TABLE last_writes (
    user_id UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    lsn BIGINT NOT NULL
);
