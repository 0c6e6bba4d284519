CREATE TYPE user_role AS ENUM ('customer', 'staff', 'admin');

-- Usernames and emails are unique without regard to case.
CREATE TABLE users (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username            TEXT NOT NULL CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$'),
    email               TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    password_hash       TEXT NOT NULL,
    first_name          TEXT NOT NULL DEFAULT '',
    last_name           TEXT NOT NULL DEFAULT '',
    role                user_role NOT NULL DEFAULT 'customer',
    active              BOOLEAN NOT NULL DEFAULT TRUE,
    -- Access tokens carry this version; logout and password change bump it,
    -- which invalidates every access token issued before.
    token_version       INTEGER NOT NULL DEFAULT 1,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- Refresh tokens are opaque; only their SHA-256 is stored. Each use rotates
-- the token within its family; presenting a used token revokes the family.
CREATE TABLE refresh_tokens (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id   UUID NOT NULL,
    token_hash  BYTEA NOT NULL UNIQUE,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id) WHERE revoked_at IS NULL;

CREATE TYPE address_kind AS ENUM ('shipping', 'billing');

CREATE TABLE addresses (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         address_kind NOT NULL,
    full_name    TEXT NOT NULL,
    line1        TEXT NOT NULL,
    line2        TEXT NOT NULL DEFAULT '',
    city         TEXT NOT NULL,
    region       TEXT NOT NULL DEFAULT '',
    postal_code  TEXT NOT NULL,
    country      CHAR(2) NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    phone        TEXT NOT NULL DEFAULT '',
    is_default   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX addresses_user_idx ON addresses (user_id);
-- At most one default address of each kind per user.
CREATE UNIQUE INDEX addresses_one_default ON addresses (user_id, kind) WHERE is_default;
