package identity

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Lockout tracks failed logins per identifier (see internal/ratelimit). Each
// call takes every identifier of one attempt: Locked reports the longest lock
// among them, Fail counts the failure against each and Reset clears them all.
type Lockout interface {
	Locked(ctx context.Context, ids ...string) (time.Duration, error)
	Fail(ctx context.Context, ids ...string) (time.Duration, error)
	Reset(ctx context.Context, ids ...string) error
}

// Lockout identifiers live in two namespaces, so no typed login name can
// touch an account's counter: "name:" + the login name as typed (trimmed,
// lower-cased), and "user:" + the id of the account it resolved to.
func nameLockKey(name string) string { return "name:" + name }
func userLockKey(id int64) string    { return "user:" + strconv.FormatInt(id, 10) }

// Service is the identity use cases over PostgreSQL.
type Service struct {
	pool       *pgxpool.Pool
	tokens     *Tokens
	lockout    Lockout
	refreshTTL time.Duration
	log        *slog.Logger
}

// NewService wires the identity service.
func NewService(pool *pgxpool.Pool, tokens *Tokens, lockout Lockout, refreshTTL time.Duration, log *slog.Logger) *Service {
	return &Service{pool: pool, tokens: tokens, lockout: lockout, refreshTTL: refreshTTL, log: log}
}

const userColumns = `id, username, email, first_name, last_name, role, active, token_version, created_at, updated_at`

func scanUser(row pgx.Row, extra ...any) (User, error) {
	var u User
	dest := append([]any{&u.ID, &u.Username, &u.Email, &u.FirstName, &u.LastName, &u.Role, &u.Active,
		&u.TokenVersion, &u.CreatedAt, &u.UpdatedAt}, extra...)
	err := row.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNotFound
	}
	return u, err
}

// Register creates a customer account.
func (s *Service) Register(ctx context.Context, in RegisterInput) (User, error) {
	return s.CreateUser(ctx, in, RoleCustomer)
}

// CreateUser creates an account with any role (the command line's path to
// the first admin). Concurrent duplicates end in exactly one account.
func (s *Service) CreateUser(ctx context.Context, in RegisterInput, role Role) (User, error) {
	if err := in.normalize(); err != nil {
		return User{}, err
	}
	if !role.Valid() {
		return User{}, fmt.Errorf("identity: invalid role %q", role)
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return User{}, err
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `
		INSERT INTO users (username, email, password_hash, first_name, last_name, role)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+userColumns,
		in.Username, in.Email, hash, in.FirstName, in.LastName, role))
	if err != nil {
		return User{}, uniqueErr(err)
	}
	return u, nil
}

func uniqueErr(err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == pgerrcode.UniqueViolation {
		switch pg.ConstraintName {
		case "users_username_key":
			return ErrUsernameTaken
		case "users_email_key":
			return ErrEmailTaken
		}
	}
	return fmt.Errorf("identity: %w", err)
}

// Login checks a username (or email) and password and opens a session.
// Unknown users and wrong passwords fail the same way and take the same
// time. Repeated failures lock the login name as typed, whether it exists or
// not, and also the account it names: an account answers to its username and
// its email, and switching between them must not buy more guesses.
//
// The account is looked up before the locks are read, so an existing and an
// unknown name cost the same Redis round trips (one read, and on failure one
// write, each pipelined over all identifiers).
func (s *Service) Login(ctx context.Context, login, password string) (Session, User, error) {
	name := strings.ToLower(strings.TrimSpace(login))
	var hash string
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+`, password_hash FROM users
		WHERE lower(username) = $1 OR lower(email) = $1 ORDER BY lower(username) = $1 DESC LIMIT 1`, name), &hash)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Session{}, User{}, fmt.Errorf("identity: login: %w", err)
	}
	known := err == nil
	ids := []string{nameLockKey(name)}
	if known {
		ids = append(ids, userLockKey(u.ID))
	}

	locked, err := s.lockout.Locked(ctx, ids...)
	if err != nil {
		s.log.WarnContext(ctx, "failed-login tracking unavailable; refusing logins", "error", err)
		return Session{}, User{}, ErrLoginUnavailable
	}
	if locked > 0 {
		return Session{}, User{}, &LockedError{RetryAfter: locked}
	}

	if !known || !u.Active {
		hash = dummyHash()
	}
	ok, verr := VerifyPassword(hash, password)
	if verr != nil {
		return Session{}, User{}, fmt.Errorf("identity: login: %w", verr)
	}
	if !ok || !known || !u.Active {
		lock, ferr := s.lockout.Fail(ctx, ids...)
		if ferr != nil {
			s.log.WarnContext(ctx, "failed-login tracking unavailable; refusing logins", "error", ferr)
			return Session{}, User{}, ErrLoginUnavailable
		}
		if lock > 0 {
			return Session{}, User{}, &LockedError{RetryAfter: lock}
		}
		return Session{}, User{}, ErrInvalidCredentials
	}
	if err := s.lockout.Reset(ctx, ids...); err != nil {
		s.log.WarnContext(ctx, "could not reset failed logins", "error", err)
	}
	sess, err := s.openSession(ctx, s.pool, u, newFamily())
	return sess, u, err
}

type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// openSession stores a new refresh token of family and signs an access token.
func (s *Service) openSession(ctx context.Context, q querier, u User, family string) (Session, error) {
	refresh := randomToken(32)
	if _, err := q.Exec(ctx, `INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at)
		VALUES ($1, $2, $3, now() + $4::interval)`, u.ID, family, hashToken(refresh), s.refreshTTL.String()); err != nil {
		return Session{}, fmt.Errorf("identity: store refresh token: %w", err)
	}
	access, err := s.tokens.Issue(u)
	if err != nil {
		return Session{}, err
	}
	return Session{AccessToken: access, ExpiresIn: s.tokens.TTL(), RefreshToken: refresh}, nil
}

// Refresh trades a refresh token for a new pair. Each token works once;
// presenting a used one again means it leaked, so its whole family is revoked
// and the user's token version is bumped: every access token already issued
// to the user stops working too, since the thief may hold one. The user's
// other sessions keep their refresh tokens and get a fresh access token on
// their next refresh.
func (s *Service) Refresh(ctx context.Context, refresh string) (Session, error) {
	if refresh == "" {
		return Session{}, ErrInvalidToken
	}
	hash := hashToken(refresh)
	var sess Session
	var reusedBy int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The user row is locked before the token row, the order every path
		// that changes both keeps (see revokeAll), so they queue instead of
		// deadlocking, and a session opened here carries the version a
		// concurrent revocation leaves.
		u, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users
			WHERE id = (SELECT user_id FROM refresh_tokens WHERE token_hash = $1) FOR NO KEY UPDATE OF users`, hash))
		if errors.Is(err, ErrNotFound) {
			return ErrInvalidToken
		}
		if err != nil {
			return err
		}
		var family string
		var expired, used, revoked bool
		err = tx.QueryRow(ctx, `SELECT family_id::text, expires_at < now(), used_at IS NOT NULL, revoked_at IS NOT NULL
			FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE`, hash).
			Scan(&family, &expired, &used, &revoked)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrInvalidToken
		}
		if err != nil {
			return err
		}
		switch {
		case revoked:
			// Also a reused token of a family already revoked: the version
			// was bumped then, and bumping again on every replay would let
			// a thief sign the user out at will.
			return ErrInvalidToken
		case used:
			reusedBy = u.ID
			if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL`, family); err != nil {
				return err
			}
			_, err := bumpTokenVersion(ctx, tx, u.ID)
			return err // commit the revocation; the caller still gets ErrTokenReused
		case expired:
			return ErrInvalidToken
		}
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1`, hash); err != nil {
			return err
		}
		if !u.Active {
			return ErrInvalidToken
		}
		sess, err = s.openSession(ctx, tx, u, family)
		return err
	})
	if err == nil && reusedBy != 0 {
		s.log.WarnContext(ctx, "refresh token reuse detected; family revoked and access tokens ended", "user_id", reusedBy)
		return Session{}, ErrTokenReused
	}
	if err != nil && !errors.Is(err, ErrInvalidToken) {
		return Session{}, fmt.Errorf("identity: refresh: %w", err)
	}
	return sess, err
}

// Logout ends every session of the user: refresh tokens are revoked and
// access tokens already issued stop working.
func (s *Service) Logout(ctx context.Context, userID int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := revokeAll(ctx, tx, userID)
		return err
	})
}

// revokeAll ends every session of the user and returns the new token version.
func revokeAll(ctx context.Context, tx pgx.Tx, userID int64) (int, error) {
	// The user row first, then its tokens: the lock order Refresh keeps too.
	v, err := bumpTokenVersion(ctx, tx, userID)
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, userID); err != nil {
		return 0, fmt.Errorf("identity: revoke sessions: %w", err)
	}
	return v, nil
}

// bumpTokenVersion invalidates every access token issued to the user so far
// (they carry the old version) and returns the new version.
func bumpTokenVersion(ctx context.Context, tx pgx.Tx, userID int64) (int, error) {
	var v int
	err := tx.QueryRow(ctx, `UPDATE users SET token_version = token_version + 1, updated_at = now()
		WHERE id = $1 RETURNING token_version`, userID).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("identity: revoke sessions: %w", err)
	}
	return v, nil
}

// Authenticate verifies an access token and that it has not been revoked.
//
// Revocation is checked with one primary-key read of the user per request,
// not a cache: it costs well under a millisecond, almost every signed-in
// call reads PostgreSQL anyway, and it has no window in which a revoked token
// (a stolen session after refresh-token reuse, a demoted admin) still works,
// nor a second store whose invalidation could be lost. If the read fails the
// token cannot be vouched for, so the answer is ErrAuthUnavailable (503),
// never a guess that it is still good.
func (s *Service) Authenticate(ctx context.Context, raw string) (Principal, error) {
	c, err := s.tokens.Verify(raw)
	if err != nil {
		return Principal{}, err
	}
	var version int
	var active bool
	var role Role
	err = s.pool.QueryRow(ctx, `SELECT token_version, active, role FROM users WHERE id = $1`, c.UserID()).Scan(&version, &active, &role)
	if errors.Is(err, pgx.ErrNoRows) {
		return Principal{}, ErrInvalidToken
	}
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrAuthUnavailable, err)
	}
	// Any version other than the current one is refused: an older one was
	// revoked, and a newer one cannot have been issued by this database.
	if !active || version != c.Version {
		return Principal{}, fmt.Errorf("%w: session revoked", ErrInvalidToken)
	}
	// The role comes from the database, so a demotion takes effect at once.
	return Principal{UserID: c.UserID(), Username: c.Username, Role: role}, nil
}

// Me returns the user's account.
func (s *Service) Me(ctx context.Context, userID int64) (User, error) {
	return scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, userID))
}

// ProfileUpdate changes the fields that are not nil.
type ProfileUpdate struct {
	FirstName, LastName, Email *string
}

// UpdateProfile changes names and email.
func (s *Service) UpdateProfile(ctx context.Context, userID int64, up ProfileUpdate) (User, error) {
	cur, err := s.Me(ctx, userID)
	if err != nil {
		return User{}, err
	}
	if up.FirstName != nil {
		cur.FirstName = strings.TrimSpace(*up.FirstName)
		if err := checkName("first_name", cur.FirstName); err != nil {
			return User{}, err
		}
	}
	if up.LastName != nil {
		cur.LastName = strings.TrimSpace(*up.LastName)
		if err := checkName("last_name", cur.LastName); err != nil {
			return User{}, err
		}
	}
	if up.Email != nil {
		if cur.Email, err = normalizeEmail(*up.Email); err != nil {
			return User{}, err
		}
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `UPDATE users SET first_name = $2, last_name = $3, email = $4, updated_at = now()
		WHERE id = $1 RETURNING `+userColumns, userID, cur.FirstName, cur.LastName, cur.Email))
	if err != nil {
		return User{}, uniqueErr(err)
	}
	return u, nil
}

// ChangePassword checks the current password, sets the new one, ends every
// session and opens a fresh one for the caller.
func (s *Service) ChangePassword(ctx context.Context, userID int64, current, next string) (Session, error) {
	var hash string
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+`, password_hash FROM users WHERE id = $1`, userID), &hash)
	if err != nil {
		return Session{}, err
	}
	ok, err := VerifyPassword(hash, current)
	if err != nil {
		return Session{}, err
	}
	if !ok {
		return Session{}, ErrInvalidCredentials
	}
	if err := CheckPasswordPolicy(next, u.Username, u.Email); err != nil {
		return Session{}, err
	}
	newHash, err := HashPassword(next)
	if err != nil {
		return Session{}, err
	}
	var sess Session
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, userID, newHash); err != nil {
			return err
		}
		if u.TokenVersion, err = revokeAll(ctx, tx, userID); err != nil {
			return err
		}
		sess, err = s.openSession(ctx, tx, u, newFamily())
		return err
	})
	return sess, err
}

// newFamily returns a random UUID (v4) naming a chain of rotated refresh tokens.
func newFamily() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
