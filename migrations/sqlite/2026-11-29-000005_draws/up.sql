-- Verifiable spot-check draws (docs/draws.md): the draw record, its manifest exactly as
-- hashed, the plan of every round (the draw is round 1, each extension one more), and the
-- picks in order. These four tables are append-only: a published draw is never changed,
-- only extended by new rounds, so UPDATE and DELETE are refused by triggers as well as in
-- code. Cases (the review work a pick starts) and the mail outbox change state later and
-- are ordinary tables.

CREATE TABLE draws (
    id INTEGER PRIMARY KEY,
    algorithm TEXT NOT NULL,
    seed TEXT NOT NULL,
    seed_source TEXT NOT NULL CHECK (seed_source IN ('ceremony', 'os_rng')),
    manifest_sha256 TEXT NOT NULL CHECK (length(manifest_sha256) = 64),
    population_size BIGINT NOT NULL,
    total_weight BIGINT NOT NULL,
    strata_mode TEXT NOT NULL CHECK (strata_mode IN ('none', 'industry')),
    allocation TEXT NOT NULL CHECK (allocation IN ('by_size', 'by_risk_mass')),
    uniform_share_per_mille INTEGER NOT NULL CHECK (uniform_share_per_mille BETWEEN 0 AND 1000),
    min_per_stratum BIGINT NOT NULL,
    sizing TEXT NOT NULL,
    filter TEXT NOT NULL,
    strata TEXT NOT NULL,
    weight_rule TEXT NOT NULL,
    created_by_user_id BIGINT NOT NULL REFERENCES users(id),
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE draw_manifests (
    draw_id BIGINT PRIMARY KEY REFERENCES draws(id),
    sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
    bytes BIGINT NOT NULL,
    text TEXT NOT NULL
);

CREATE TABLE draw_rounds (
    id INTEGER PRIMARY KEY,
    draw_id BIGINT NOT NULL REFERENCES draws(id),
    round INTEGER NOT NULL CHECK (round >= 1),
    plan TEXT NOT NULL,
    size_requested BIGINT NOT NULL,
    picks_made BIGINT NOT NULL,
    first_position BIGINT NOT NULL,
    created_by_user_id BIGINT NOT NULL REFERENCES users(id),
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (draw_id, round)
);

CREATE TABLE draw_picks (
    id INTEGER PRIMARY KEY,
    draw_id BIGINT NOT NULL REFERENCES draws(id),
    round INTEGER NOT NULL,
    position BIGINT NOT NULL CHECK (position >= 1),
    stratum TEXT NOT NULL,
    contract_id BIGINT NOT NULL REFERENCES contracts(id),
    contract_no TEXT NOT NULL,
    part TEXT NOT NULL CHECK (part IN ('weighted', 'uniform')),
    counter BIGINT,
    ticket TEXT,
    CHECK ((part = 'weighted' AND counter IS NOT NULL AND counter >= 0 AND ticket IS NULL)
        OR (part = 'uniform' AND ticket IS NOT NULL AND counter IS NULL)),
    UNIQUE (draw_id, position),
    UNIQUE (draw_id, contract_no)
);
CREATE INDEX draw_picks_contract ON draw_picks(contract_id);

-- A case is the review of one drawn (or, later, flagged) contract by the A-krim partners:
-- ny -> under_vurdering -> kontrollert -> lukket. One case per pick.
CREATE TABLE cases (
    id INTEGER PRIMARY KEY,
    contract_id BIGINT NOT NULL REFERENCES contracts(id),
    source TEXT NOT NULL CHECK (source IN ('draw', 'flag')),
    draw_id BIGINT REFERENCES draws(id),
    pick_id BIGINT UNIQUE REFERENCES draw_picks(id),
    part TEXT CHECK (part IN ('weighted', 'uniform')),
    stratum TEXT,
    status TEXT NOT NULL CHECK (status IN ('ny', 'under_vurdering', 'kontrollert', 'lukket')),
    outcome TEXT,
    assigned_to BIGINT REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (source <> 'draw' OR (draw_id IS NOT NULL AND pick_id IS NOT NULL AND part IS NOT NULL))
);
CREATE INDEX cases_contract ON cases(contract_id, created_at);
CREATE INDEX cases_draw ON cases(draw_id);

-- Transactional outbox: a message is written in the same transaction as the event and
-- sent later by a worker (retries with backoff; dedupe_key keeps it from being sent twice).
-- recipient_address is empty until the sender resolves it from the user (users carry no
-- e-mail address yet).
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    recipient_user_id BIGINT REFERENCES users(id),
    recipient_agency TEXT,
    recipient_address TEXT,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_attempt_at TIMESTAMP,
    last_error TEXT,
    locked_until TIMESTAMP,
    sent_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);

CREATE TRIGGER draws_no_update BEFORE UPDATE ON draws
BEGIN SELECT RAISE(ABORT, 'draws is append-only: a published draw is never changed'); END;
CREATE TRIGGER draws_no_delete BEFORE DELETE ON draws
BEGIN SELECT RAISE(ABORT, 'draws is append-only: a published draw is never changed'); END;
CREATE TRIGGER draw_manifests_no_update BEFORE UPDATE ON draw_manifests
BEGIN SELECT RAISE(ABORT, 'draw_manifests is append-only: a published draw is never changed'); END;
CREATE TRIGGER draw_manifests_no_delete BEFORE DELETE ON draw_manifests
BEGIN SELECT RAISE(ABORT, 'draw_manifests is append-only: a published draw is never changed'); END;
CREATE TRIGGER draw_rounds_no_update BEFORE UPDATE ON draw_rounds
BEGIN SELECT RAISE(ABORT, 'draw_rounds is append-only: a published draw is never changed'); END;
CREATE TRIGGER draw_rounds_no_delete BEFORE DELETE ON draw_rounds
BEGIN SELECT RAISE(ABORT, 'draw_rounds is append-only: a published draw is never changed'); END;
CREATE TRIGGER draw_picks_no_update BEFORE UPDATE ON draw_picks
BEGIN SELECT RAISE(ABORT, 'draw_picks is append-only: a published draw is never changed'); END;
CREATE TRIGGER draw_picks_no_delete BEFORE DELETE ON draw_picks
BEGIN SELECT RAISE(ABORT, 'draw_picks is append-only: a published draw is never changed'); END;
