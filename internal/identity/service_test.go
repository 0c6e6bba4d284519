package identity_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/ratelimit"
	"github.com/shopkit/shop/internal/testenv"
	"github.com/shopkit/shop/internal/validation"
)

func newService(t *testing.T) (*identity.Service, *pgxpool.Pool) {
	t.Helper()
	s, pool, _ := newServiceAndLockout(t)
	return s, pool
}

// newServiceAndLockout also returns the service's lockout, to read its state in Redis.
func newServiceAndLockout(t *testing.T) (*identity.Service, *pgxpool.Pool, *ratelimit.Lockout) {
	t.Helper()
	pool := dbtest.New(t)
	tokens, err := identity.NewTokens(identity.TokenConfig{Issuer: "shop", Audience: "shop-api", TTL: time.Minute,
		Keys: map[string][]byte{"k": []byte("0123456789abcdef0123456789abcdef")}, ActiveKey: "k"})
	require.NoError(t, err)
	lockout := ratelimit.NewLockout(testenv.Redis(t), testenv.UniqueName("test-lockout-")+":",
		ratelimit.LockoutPolicy{Threshold: 3, Window: time.Minute, BaseLock: time.Minute, MaxLock: time.Hour})
	return identity.NewService(pool, tokens, lockout, time.Hour, slog.New(slog.DiscardHandler)), pool, lockout
}

var john = identity.RegisterInput{Username: "johndoe", Email: "john@example.com", Password: "SecurePass123!", FirstName: "John", LastName: "Doe"}

func TestRegisterValidatesAndRefusesDuplicates(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	u, err := s.Register(ctx, john)
	require.NoError(t, err)
	assert.Equal(t, identity.RoleCustomer, u.Role)

	dup := john
	dup.Email = "other@example.com"
	dup.Username = "JohnDoe"
	_, err = s.Register(ctx, dup)
	assert.ErrorIs(t, err, identity.ErrUsernameTaken, "usernames are unique regardless of case")
	dup = john
	dup.Username = "someone"
	dup.Email = "JOHN@example.com"
	_, err = s.Register(ctx, dup)
	assert.ErrorIs(t, err, identity.ErrEmailTaken)

	for field, in := range map[string]identity.RegisterInput{
		"username": {Email: "a@b.co", Password: "SecurePass123!"},
		"email":    {Username: "ann", Email: "not-an-email", Password: "SecurePass123!"},
		"password": {Username: "ann", Email: "ann@example.com", Password: "short"},
	} {
		_, err := s.Register(ctx, in)
		var ve *validation.Error
		require.ErrorAs(t, err, &ve, field)
		assert.Equal(t, field, ve.Field)
	}
}

func TestRegistrationRaceMakesExactlyOneAccount(t *testing.T) {
	ctx := context.Background()
	s, pool := newService(t)
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = s.Register(ctx, john) }()
	}
	wg.Wait()
	ok, taken := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, identity.ErrUsernameTaken), errors.Is(err, identity.ErrEmailTaken):
			taken++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	assert.Equal(t, 1, ok)
	assert.Equal(t, 19, taken)
	var n int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n))
	assert.Equal(t, 1, n)
}

func TestLoginDoesNotRevealWhichPartWasWrong(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	_, err := s.Register(ctx, john)
	require.NoError(t, err)

	_, u, err := s.Login(ctx, "johndoe", "SecurePass123!")
	require.NoError(t, err)
	assert.Equal(t, "johndoe", u.Username)
	_, _, err = s.Login(ctx, "John@Example.com", "SecurePass123!")
	require.NoError(t, err, "the email works as the login name")

	// The fastest of a few tries is robust against a busy machine.
	fastest := func(login string) (time.Duration, error) {
		best, err := time.Duration(1<<62), error(nil)
		for range 2 { // the lockout in this test allows 2 failures
			start := time.Now()
			_, _, err = s.Login(ctx, login, "WrongPass123!")
			best = min(best, time.Since(start))
		}
		return best, err
	}
	wrong, errWrong := fastest("johndoe")
	unknown, errUnknown := fastest("nobody")
	assert.ErrorIs(t, errWrong, identity.ErrInvalidCredentials)
	assert.ErrorIs(t, errUnknown, identity.ErrInvalidCredentials)
	assert.Equal(t, errWrong.Error(), errUnknown.Error())
	// Both paths run one argon2id verification.
	assert.Greater(t, unknown, wrong/3, "unknown user %v vs wrong password %v", unknown, wrong)
	assert.Greater(t, wrong, unknown/3, "unknown user %v vs wrong password %v", unknown, wrong)
}

func TestRepeatedFailuresLockTheLoginName(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	_, err := s.Register(ctx, john)
	require.NoError(t, err)
	for range 2 {
		_, _, err = s.Login(ctx, "johndoe", "nope-nope-nope")
		require.ErrorIs(t, err, identity.ErrInvalidCredentials)
	}
	_, _, err = s.Login(ctx, "johndoe", "nope-nope-nope")
	var locked *identity.LockedError
	require.ErrorAs(t, err, &locked, "the third failure locks")
	assert.Greater(t, locked.RetryAfter, 30*time.Second)

	_, _, err = s.Login(ctx, "johndoe", "SecurePass123!")
	require.ErrorAs(t, err, &locked, "even the right password waits out the lock")

	// An unknown name locks the same way, so a lock reveals nothing.
	for range 3 {
		_, _, err = s.Login(ctx, "ghost", "nope-nope-nope")
	}
	require.ErrorAs(t, err, &locked)
}

func TestRefreshRotationAndReuseDetection(t *testing.T) {
	ctx := context.Background()
	s, pool := newService(t)
	_, err := s.Register(ctx, john)
	require.NoError(t, err)
	first, _, err := s.Login(ctx, "johndoe", "SecurePass123!")
	require.NoError(t, err)

	second, err := s.Refresh(ctx, first.RefreshToken)
	require.NoError(t, err)
	assert.NotEqual(t, first.RefreshToken, second.RefreshToken, "rotated on use")
	third, err := s.Refresh(ctx, second.RefreshToken)
	require.NoError(t, err)

	// The first token comes back: it leaked. The whole family dies.
	_, err = s.Refresh(ctx, first.RefreshToken)
	require.ErrorIs(t, err, identity.ErrTokenReused)
	_, err = s.Refresh(ctx, third.RefreshToken)
	require.ErrorIs(t, err, identity.ErrInvalidToken, "the newest token of the family is revoked too")

	var live int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL").Scan(&live))
	assert.Zero(t, live)

	// Another login is a separate family and is unaffected by the first.
	other, _, err := s.Login(ctx, "johndoe", "SecurePass123!")
	require.NoError(t, err)
	_, err = s.Refresh(ctx, other.RefreshToken)
	require.NoError(t, err)

	_, err = s.Refresh(ctx, "made-up-token")
	require.ErrorIs(t, err, identity.ErrInvalidToken)

	var stored []byte
	require.NoError(t, pool.QueryRow(ctx, "SELECT token_hash FROM refresh_tokens LIMIT 1").Scan(&stored))
	assert.Len(t, stored, 32, "only a SHA-256 of each refresh token is stored")
}

func TestLogoutAndPasswordChangeEndSessions(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	u, err := s.Register(ctx, john)
	require.NoError(t, err)
	sess, _, err := s.Login(ctx, "johndoe", "SecurePass123!")
	require.NoError(t, err)
	p, err := s.Authenticate(ctx, sess.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, u.ID, p.UserID)

	require.NoError(t, s.Logout(ctx, u.ID))
	_, err = s.Authenticate(ctx, sess.AccessToken)
	assert.ErrorIs(t, err, identity.ErrInvalidToken, "access tokens die with the session")
	_, err = s.Refresh(ctx, sess.RefreshToken)
	assert.ErrorIs(t, err, identity.ErrInvalidToken)

	sess, _, err = s.Login(ctx, "johndoe", "SecurePass123!")
	require.NoError(t, err)
	_, err = s.ChangePassword(ctx, u.ID, "wrong-current", "AnotherPass456?")
	assert.ErrorIs(t, err, identity.ErrInvalidCredentials)
	fresh, err := s.ChangePassword(ctx, u.ID, "SecurePass123!", "AnotherPass456?")
	require.NoError(t, err)
	_, err = s.Authenticate(ctx, sess.AccessToken)
	assert.ErrorIs(t, err, identity.ErrInvalidToken)
	_, err = s.Authenticate(ctx, fresh.AccessToken)
	assert.NoError(t, err, "the session the change returns works")
	_, _, err = s.Login(ctx, "johndoe", "AnotherPass456?")
	assert.NoError(t, err)
}

func TestAddressBookKeepsOneDefaultPerKind(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	u, err := s.Register(ctx, john)
	require.NoError(t, err)
	addr := identity.Address{Kind: identity.Shipping, FullName: "John Doe", Line1: "123 Main St", City: "Springfield",
		PostalCode: "12345", Country: "us"}
	a1, err := s.AddAddress(ctx, u.ID, addr)
	require.NoError(t, err)
	assert.True(t, a1.IsDefault, "the first address of a kind is the default")
	assert.Equal(t, "US", a1.Country)
	a2, err := s.AddAddress(ctx, u.ID, addr)
	require.NoError(t, err)
	assert.False(t, a2.IsDefault)
	addr.IsDefault = true
	a3, err := s.AddAddress(ctx, u.ID, addr)
	require.NoError(t, err)
	assert.True(t, a3.IsDefault)
	bill := addr
	bill.Kind = identity.Billing
	_, err = s.AddAddress(ctx, u.ID, bill)
	require.NoError(t, err)

	defaults := func() map[identity.AddressKind]int64 {
		list, err := s.ListAddresses(ctx, u.ID)
		require.NoError(t, err)
		m := map[identity.AddressKind]int64{}
		for _, a := range list {
			if a.IsDefault {
				_, dup := m[a.Kind]
				require.False(t, dup, "two defaults of kind %s", a.Kind)
				m[a.Kind] = a.ID
			}
		}
		return m
	}
	assert.Equal(t, a3.ID, defaults()[identity.Shipping])

	require.NoError(t, s.DeleteAddress(ctx, u.ID, a3.ID))
	assert.Equal(t, a2.ID, defaults()[identity.Shipping], "the newest remaining address takes over")

	other, err := s.Register(ctx, identity.RegisterInput{Username: "mallory", Email: "m@example.com", Password: "SecurePass123!"})
	require.NoError(t, err)
	assert.ErrorIs(t, s.DeleteAddress(ctx, other.ID, a2.ID), identity.ErrNotFound, "another user's address does not exist for them")
	a2.City = "Shelbyville"
	_, err = s.UpdateAddress(ctx, other.ID, a2)
	assert.ErrorIs(t, err, identity.ErrNotFound)

	bad := addr
	bad.Country = "USA"
	_, err = s.AddAddress(ctx, u.ID, bad)
	var ve *validation.Error
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "country", ve.Field)
}

func TestSetRoleRevokesOldTokens(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	admin, err := s.CreateUser(ctx, identity.RegisterInput{Username: "adele", Email: "adele@example.com", Password: "SecurePass123!"}, identity.RoleAdmin)
	require.NoError(t, err)
	u, err := s.Register(ctx, john)
	require.NoError(t, err)
	sess, _, err := s.Login(ctx, "johndoe", "SecurePass123!")
	require.NoError(t, err)
	u, err = s.SetRole(ctx, admin.ID, u.ID, identity.RoleStaff)
	require.NoError(t, err)
	assert.Equal(t, identity.RoleStaff, u.Role)
	_, err = s.Authenticate(ctx, sess.AccessToken)
	assert.ErrorIs(t, err, identity.ErrInvalidToken)
	_, err = s.SetRole(ctx, admin.ID, 999999, identity.RoleAdmin)
	assert.ErrorIs(t, err, identity.ErrNotFound)
}
