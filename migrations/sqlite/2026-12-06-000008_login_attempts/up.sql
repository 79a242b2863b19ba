-- Security events of sign-in: every attempt, kept for a day, outside the audit chain (which
-- gets one entry when throttling starts). `account` is an existing user's name, or the typed
-- name cut to 64 characters and marked unknown, so a password typed into the name field of an
-- unknown user is never kept for long and never reaches the chain. The throttle counts from
-- this table, inside the write transaction, so every instance on one database agrees.
CREATE TABLE login_attempts (
    id INTEGER PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    account TEXT NOT NULL,
    known BOOLEAN NOT NULL,
    address TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX login_attempts_pair ON login_attempts(account, address, at);
CREATE INDEX login_attempts_address ON login_attempts(address, at);
CREATE INDEX login_attempts_at ON login_attempts(at);
