package identity

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	keyA = []byte("0123456789abcdef0123456789abcdef-key-a")
	keyB = []byte("0123456789abcdef0123456789abcdef-key-b")
)

func testTokens(t *testing.T, keys map[string][]byte, active string) *Tokens {
	t.Helper()
	tok, err := NewTokens(TokenConfig{Issuer: "shop", Audience: "shop-api", TTL: 15 * time.Minute, Keys: keys, ActiveKey: active})
	require.NoError(t, err)
	return tok
}

var alice = User{ID: 7, Username: "alice", Role: RoleCustomer, TokenVersion: 1}

func TestTokenRoundTrip(t *testing.T) {
	tok := testTokens(t, map[string][]byte{"a": keyA}, "a")
	raw, err := tok.Issue(alice)
	require.NoError(t, err)
	c, err := tok.Verify(raw)
	require.NoError(t, err)
	assert.Equal(t, int64(7), c.UserID())
	assert.Equal(t, RoleCustomer, c.Role)
	assert.Equal(t, 1, c.Version)
}

func TestKeyRotationKeepsOldTokensValid(t *testing.T) {
	old := testTokens(t, map[string][]byte{"a": keyA}, "a")
	raw, err := old.Issue(alice)
	require.NoError(t, err)
	rotated := testTokens(t, map[string][]byte{"a": keyA, "b": keyB}, "b")
	_, err = rotated.Verify(raw)
	require.NoError(t, err, "a token signed with the previous key still verifies")
	fresh, err := rotated.Issue(alice)
	require.NoError(t, err)
	_, err = old.Verify(fresh)
	assert.ErrorIs(t, err, ErrInvalidToken, "a verifier without key b refuses b's tokens")
}

func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, mutate func(*Claims)) string {
	t.Helper()
	now := time.Now()
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: "shop", Subject: "7", Audience: jwt.ClaimStrings{"shop-api"},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)),
		},
		Role: RoleAdmin, Version: 1,
	}
	if mutate != nil {
		mutate(&c)
	}
	tok := jwt.NewWithClaims(method, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

func TestTokenAttacksAreRefused(t *testing.T) {
	tok := testTokens(t, map[string][]byte{"a": keyA}, "a")
	good, err := tok.Issue(alice)
	require.NoError(t, err)
	parts := strings.Split(good, ".")

	attacks := map[string]string{
		"alg none":        sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "a", nil),
		"wrong key":       sign(t, jwt.SigningMethodHS256, keyB, "a", nil),
		"HS512":           sign(t, jwt.SigningMethodHS512, keyA, "a", nil),
		"unknown kid":     sign(t, jwt.SigningMethodHS256, keyA, "zzz", nil),
		"expired":         sign(t, jwt.SigningMethodHS256, keyA, "a", func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute)) }),
		"no expiry":       sign(t, jwt.SigningMethodHS256, keyA, "a", func(c *Claims) { c.ExpiresAt = nil }),
		"wrong audience":  sign(t, jwt.SigningMethodHS256, keyA, "a", func(c *Claims) { c.Audience = jwt.ClaimStrings{"other-api"} }),
		"wrong issuer":    sign(t, jwt.SigningMethodHS256, keyA, "a", func(c *Claims) { c.Issuer = "evil" }),
		"bad role":        sign(t, jwt.SigningMethodHS256, keyA, "a", func(c *Claims) { c.Role = "root" }),
		"no subject":      sign(t, jwt.SigningMethodHS256, keyA, "a", func(c *Claims) { c.Subject = "" }),
		"future iat":      sign(t, jwt.SigningMethodHS256, keyA, "a", func(c *Claims) { c.IssuedAt = jwt.NewNumericDate(time.Now().Add(time.Hour)) }),
		"tampered claims": parts[0] + "." + strings.TrimRight(parts[1], "=") + "x." + parts[2],
		"tampered sig":    parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])),
		"garbage":         "not.a.jwt",
		"empty":           "",
	}
	for name, raw := range attacks {
		_, err := tok.Verify(raw)
		assert.ErrorIs(t, err, ErrInvalidToken, name)
	}
}

func TestShortKeysAreRefused(t *testing.T) {
	_, err := NewTokens(TokenConfig{Issuer: "i", Audience: "a", TTL: time.Minute, Keys: map[string][]byte{"a": []byte("short")}, ActiveKey: "a"})
	assert.Error(t, err)
}
