package identity_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/identity"
)

const wrongPassword = "nope-nope-nope"

// The test lockout locks at the third failure. An account answers to its
// username and its email; failures under either count against the account.
func TestLockoutCountsFailuresPerAccountAcrossNames(t *testing.T) {
	ctx := context.Background()
	s, _, lo := newServiceAndLockout(t)
	u, err := s.Register(ctx, john)
	require.NoError(t, err)

	_, _, err = s.Login(ctx, "johndoe", wrongPassword)
	require.ErrorIs(t, err, identity.ErrInvalidCredentials)
	_, _, err = s.Login(ctx, "John@Example.com", wrongPassword)
	require.ErrorIs(t, err, identity.ErrInvalidCredentials)
	_, _, err = s.Login(ctx, "johndoe", wrongPassword)
	var locked *identity.LockedError
	require.ErrorAs(t, err, &locked, "the account's third failure locks it, though neither name failed three times")
	assert.Greater(t, locked.RetryAfter, 30*time.Second)

	for _, name := range []string{"johndoe", "john@example.com", " JOHNDOE "} {
		_, _, err = s.Login(ctx, name, john.Password)
		require.ErrorAs(t, err, &locked, "%q: the right password waits out the account's lock", name)
	}

	// In Redis: the account is locked, while each name on its own is not.
	d, err := lo.Locked(ctx, "user:"+strconv.FormatInt(u.ID, 10))
	require.NoError(t, err)
	assert.Greater(t, d, 30*time.Second)
	for _, name := range []string{"name:johndoe", "name:john@example.com"} {
		d, err := lo.Locked(ctx, name)
		require.NoError(t, err)
		assert.Zero(t, d, name)
	}

	// A login name is still locked on its own, whether it exists or not.
	for i := range 3 {
		_, _, err = s.Login(ctx, "ghost", wrongPassword)
		if i < 2 {
			require.ErrorIs(t, err, identity.ErrInvalidCredentials)
		}
	}
	require.ErrorAs(t, err, &locked)
}

func TestSuccessfulLoginClearsTheAccountsFailures(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	_, err := s.Register(ctx, john)
	require.NoError(t, err)
	for range 2 {
		_, _, err = s.Login(ctx, "john@example.com", wrongPassword)
		require.ErrorIs(t, err, identity.ErrInvalidCredentials)
	}
	_, _, err = s.Login(ctx, "john@example.com", john.Password)
	require.NoError(t, err)
	for range 2 {
		_, _, err = s.Login(ctx, "johndoe", wrongPassword)
		require.ErrorIs(t, err, identity.ErrInvalidCredentials, "the account's earlier failures were forgotten")
	}
}

func tokenVersion(t *testing.T, pool *pgxpool.Pool, id int64) int {
	t.Helper()
	var v int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT token_version FROM users WHERE id = $1`, id).Scan(&v))
	return v
}

func TestRefreshReuseEndsTheUsersAccessTokens(t *testing.T) {
	ctx := context.Background()
	s, pool := newService(t)
	u, err := s.Register(ctx, john)
	require.NoError(t, err)
	phone, _, err := s.Login(ctx, "johndoe", john.Password) // another device: its own family
	require.NoError(t, err)
	stolen, _, err := s.Login(ctx, "johndoe", john.Password)
	require.NoError(t, err)
	next, err := s.Refresh(ctx, stolen.RefreshToken)
	require.NoError(t, err)
	_, err = s.Authenticate(ctx, stolen.AccessToken)
	require.NoError(t, err, "rotating a refresh token leaves the access token alone")
	before := tokenVersion(t, pool, u.ID)

	_, err = s.Refresh(ctx, stolen.RefreshToken)
	require.ErrorIs(t, err, identity.ErrTokenReused)
	for name, tok := range map[string]string{"family's first": stolen.AccessToken, "family's newest": next.AccessToken, "other device's": phone.AccessToken} {
		_, err = s.Authenticate(ctx, tok)
		assert.ErrorIs(t, err, identity.ErrInvalidToken, "%s access token", name)
	}
	assert.Equal(t, before+1, tokenVersion(t, pool, u.ID))

	// Replaying the token again finds the family revoked: no second bump, so
	// whoever holds it cannot sign the user out at will.
	_, err = s.Refresh(ctx, stolen.RefreshToken)
	require.ErrorIs(t, err, identity.ErrInvalidToken)
	assert.NotErrorIs(t, err, identity.ErrTokenReused)
	assert.Equal(t, before+1, tokenVersion(t, pool, u.ID))

	// The other device's family was not the leaked one: it refreshes into a working token.
	again, err := s.Refresh(ctx, phone.RefreshToken)
	require.NoError(t, err)
	_, err = s.Authenticate(ctx, again.AccessToken)
	require.NoError(t, err)
	fresh, _, err := s.Login(ctx, "johndoe", john.Password)
	require.NoError(t, err)
	p, err := s.Authenticate(ctx, fresh.AccessToken)
	require.NoError(t, err, "a fresh login works")
	assert.Equal(t, u.ID, p.UserID)
}

func TestAuthenticateFailsClosedWhenTheDatabaseIsDown(t *testing.T) {
	ctx := context.Background()
	tokens, err := identity.NewTokens(identity.TokenConfig{Issuer: "shop", Audience: "shop-api", TTL: time.Minute,
		Keys: map[string][]byte{"k": []byte("0123456789abcdef0123456789abcdef")}, ActiveKey: "k"})
	require.NoError(t, err)
	raw, err := tokens.Issue(identity.User{ID: 7, Username: "alice", Role: identity.RoleAdmin, TokenVersion: 1})
	require.NoError(t, err)
	dead, err := pgxpool.New(ctx, "postgres://shop:shop@127.0.0.1:1/shop?connect_timeout=2")
	require.NoError(t, err)
	t.Cleanup(dead.Close)
	s := identity.NewService(dead, tokens, nil, time.Hour, slog.New(slog.DiscardHandler))

	_, err = s.Authenticate(ctx, raw)
	require.ErrorIs(t, err, identity.ErrAuthUnavailable, "an unverifiable token is refused, not trusted")
	assert.NotErrorIs(t, err, identity.ErrInvalidToken, "the token itself is not at fault")
}

func createAdmin(t *testing.T, s *identity.Service, name string) identity.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), identity.RegisterInput{Username: name, Email: name + "@example.com", Password: "SecurePass123!"}, identity.RoleAdmin)
	require.NoError(t, err)
	return u
}

func activeAdmins(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM users WHERE role = 'admin' AND active`).Scan(&n))
	return n
}

func TestTheLastAdminCannotBeDemoted(t *testing.T) {
	ctx := context.Background()
	s, pool := newService(t)
	adele := createAdmin(t, s, "adele")
	sess, _, err := s.Login(ctx, "adele", "SecurePass123!")
	require.NoError(t, err)

	for _, role := range []identity.Role{identity.RoleStaff, identity.RoleCustomer} {
		_, err = s.SetRole(ctx, adele.ID, adele.ID, role)
		require.ErrorIs(t, err, identity.ErrLastAdmin, role)
	}
	assert.Equal(t, 1, activeAdmins(t, pool))
	_, err = s.Authenticate(ctx, sess.AccessToken)
	require.NoError(t, err, "a refused change ends no session")
	u, err := s.SetRole(ctx, adele.ID, adele.ID, identity.RoleAdmin)
	require.NoError(t, err, "keeping the role is no demotion")
	assert.Equal(t, identity.RoleAdmin, u.Role)

	bruno := createAdmin(t, s, "bruno")
	cust, err := s.Register(ctx, john)
	require.NoError(t, err)
	_, err = s.SetRole(ctx, cust.ID, bruno.ID, identity.RoleCustomer)
	require.ErrorIs(t, err, identity.ErrInvalidToken, "only an active admin changes roles")

	_, err = s.SetRole(ctx, adele.ID, adele.ID, identity.RoleStaff)
	require.NoError(t, err, "another admin remains")
	_, err = s.SetRole(ctx, bruno.ID, bruno.ID, identity.RoleCustomer)
	require.ErrorIs(t, err, identity.ErrLastAdmin)

	// A deactivated admin does not count as one.
	carla := createAdmin(t, s, "carla")
	_, err = pool.Exec(ctx, `UPDATE users SET active = false WHERE id = $1`, carla.ID)
	require.NoError(t, err)
	_, err = s.SetRole(ctx, bruno.ID, bruno.ID, identity.RoleCustomer)
	require.ErrorIs(t, err, identity.ErrLastAdmin)
	_, err = s.SetRole(ctx, carla.ID, bruno.ID, identity.RoleCustomer)
	require.ErrorIs(t, err, identity.ErrInvalidToken)
	assert.Equal(t, 1, activeAdmins(t, pool))
}

// Two role changes start together and must queue: the test holds the admins'
// rows until both wait on a lock, then lets them race.
func TestConcurrentDemotionsKeepAnAdmin(t *testing.T) {
	for _, tc := range []struct {
		name       string
		self       bool // each demotes itself rather than the other
		thirdAdmin bool
		wantAdmins int
	}{
		{name: "two admins demote each other", wantAdmins: 1},
		{name: "two admins demote themselves", self: true, wantAdmins: 1},
		{name: "two of three admins demote each other", thirdAdmin: true, wantAdmins: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s, pool := newService(t)
			a, b := createAdmin(t, s, "adele"), createAdmin(t, s, "bruno")
			if tc.thirdAdmin {
				createAdmin(t, s, "carla")
			}
			hold, err := pool.Begin(ctx)
			require.NoError(t, err)
			defer func() { _ = hold.Rollback(ctx) }()
			_, err = hold.Exec(ctx, `SELECT 1 FROM users WHERE id IN ($1, $2) FOR UPDATE`, a.ID, b.ID)
			require.NoError(t, err)

			targetOfA, targetOfB := b.ID, a.ID
			if tc.self {
				targetOfA, targetOfB = a.ID, b.ID
			}
			errs := make([]error, 2)
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); _, errs[0] = s.SetRole(ctx, a.ID, targetOfA, identity.RoleCustomer) }()
			go func() { defer wg.Done(); _, errs[1] = s.SetRole(ctx, b.ID, targetOfB, identity.RoleCustomer) }()
			require.Eventually(t, func() bool {
				var waiting int
				err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
					WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
				return err == nil && waiting == 2
			}, 10*time.Second, 5*time.Millisecond, "both role changes wait on the admins' rows")
			require.NoError(t, hold.Rollback(ctx))
			wg.Wait()

			succeeded := 0
			for _, err := range errs {
				switch {
				case err == nil:
					succeeded++
				case errors.Is(err, identity.ErrLastAdmin), errors.Is(err, identity.ErrInvalidToken):
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}
			assert.Equal(t, 1, succeeded, "exactly one of the two changes succeeds: %v", errs)
			assert.Equal(t, tc.wantAdmins, activeAdmins(t, pool))
		})
	}
}
