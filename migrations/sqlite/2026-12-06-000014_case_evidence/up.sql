-- Evidence files of a case (issue 13). The bytes live under `<data dir>/evidence/<case id>/`
-- named by their SHA-256 (no part of a stored path comes from the uploader), outside any
-- web root, served only through the case's access check and only as a download. The row
-- keeps the name shown to people (cleaned), the type found by looking at the bytes, the
-- size and the SHA-256.
CREATE TABLE case_evidence (
    id INTEGER PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases(id),
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
    uploaded_by_user_id BIGINT NOT NULL REFERENCES users(id),
    uploaded_at TIMESTAMP NOT NULL
);
CREATE INDEX case_evidence_case ON case_evidence(case_id, id);
