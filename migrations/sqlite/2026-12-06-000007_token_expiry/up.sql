-- API tokens may expire; a token past its expiry is refused like a revoked one.
ALTER TABLE api_tokens ADD COLUMN expires_at TIMESTAMP;
