-- Document requests to a supplier under a case (issue 13): what the buyer may demand under
-- the wage-conditions regulation (payslips, time sheets, employment contracts, the HMS-card
-- list, a tax certificate, the subcontractor list), by when, and whether it came. The
-- request and its receipt are also case events; when the deadline passes with nothing
-- received, one reminder goes through the outbox (dedupe key per request).
CREATE TABLE case_document_requests (
    id INTEGER PRIMARY KEY,
    case_id BIGINT NOT NULL REFERENCES cases(id),
    -- `,lonnsslipper,timelister,` (see domain::case::DocumentKind)
    documents TEXT NOT NULL,
    note TEXT,
    deadline DATE NOT NULL,
    requested_by_user_id BIGINT NOT NULL REFERENCES users(id),
    requested_at TIMESTAMP NOT NULL,
    received_at TIMESTAMP,
    received_by_user_id BIGINT REFERENCES users(id)
);
CREATE INDEX case_document_requests_case ON case_document_requests(case_id, id);
CREATE INDEX case_document_requests_open ON case_document_requests(deadline) WHERE received_at IS NULL;
