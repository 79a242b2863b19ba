DROP TABLE case_document_requests;
