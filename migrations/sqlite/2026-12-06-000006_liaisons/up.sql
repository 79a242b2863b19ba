-- Liaisons: contacts at the A-krim agencies who receive mail; users get an optional e-mail.
-- `industries` and `notices` are comma-delimited with a leading and trailing comma
-- (`,renhold,bygg_anlegg,`) so that `LIKE '%,renhold,%'` finds a member; the empty string
-- is the empty list (for industries: every industry). Removing a liaison sets `active` to
-- false: the row, and the audit entries that name it, stay.

ALTER TABLE users ADD COLUMN email TEXT;

CREATE TABLE liaisons (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    agency TEXT NOT NULL CHECK (agency IN ('arbeidstilsynet', 'skatteetaten', 'politiet', 'nav', 'kemneren')),
    email TEXT NOT NULL,
    industries TEXT NOT NULL,
    notices TEXT NOT NULL,
    user_id BIGINT REFERENCES users(id),
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX liaisons_agency ON liaisons(agency, active);
CREATE INDEX liaisons_user ON liaisons(user_id);
