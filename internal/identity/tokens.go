package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrInvalidToken covers every refused token: malformed, tampered, expired,
// wrong issuer or audience, unknown key, wrong algorithm, revoked.
var ErrInvalidToken = errors.New("invalid or expired token")

// signingMethod is the only algorithm accepted; "none" and every other
// algorithm are refused before the signature is looked at.
var signingMethod = jwt.SigningMethodHS256

// TokenConfig configures access tokens.
type TokenConfig struct {
	Issuer   string
	Audience string
	TTL      time.Duration
	// Keys maps key ids to HMAC secrets (at least 32 bytes). Tokens are
	// signed with ActiveKey and verified with whichever key their "kid"
	// names, so a new key can be rolled out before the old one is retired.
	Keys      map[string][]byte
	ActiveKey string
}

// Claims are what an access token says about its bearer.
type Claims struct {
	jwt.RegisteredClaims
	Username string `json:"name"`
	Role     Role   `json:"role"`
	Version  int    `json:"ver"`
}

// UserID returns the subject as a user id.
func (c *Claims) UserID() int64 {
	id, _ := strconv.ParseInt(c.Subject, 10, 64)
	return id
}

// Tokens issues and verifies access tokens.
type Tokens struct {
	cfg    TokenConfig
	parser *jwt.Parser
	now    func() time.Time
}

// NewTokens checks cfg and returns an issuer/verifier.
func NewTokens(cfg TokenConfig) (*Tokens, error) {
	if len(cfg.Keys[cfg.ActiveKey]) < 32 {
		return nil, fmt.Errorf("identity: active signing key %q is missing or shorter than 32 bytes", cfg.ActiveKey)
	}
	for kid, k := range cfg.Keys {
		if len(k) < 32 {
			return nil, fmt.Errorf("identity: signing key %q is shorter than 32 bytes", kid)
		}
	}
	if cfg.Issuer == "" || cfg.Audience == "" || cfg.TTL <= 0 {
		return nil, errors.New("identity: token issuer, audience and TTL are required")
	}
	t := &Tokens{cfg: cfg, now: time.Now}
	t.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{signingMethod.Alg()}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(5*time.Second),
		jwt.WithTimeFunc(func() time.Time { return t.now() }),
	)
	return t, nil
}

// TTL is the lifetime of an access token.
func (t *Tokens) TTL() time.Duration { return t.cfg.TTL }

// Issue signs an access token for u.
func (t *Tokens) Issue(u User) (string, error) {
	now := t.now()
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.cfg.Issuer,
			Subject:   strconv.FormatInt(u.ID, 10),
			Audience:  jwt.ClaimStrings{t.cfg.Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(t.cfg.TTL)),
			ID:        randomToken(12),
		},
		Username: u.Username,
		Role:     u.Role,
		Version:  u.TokenVersion,
	}
	tok := jwt.NewWithClaims(signingMethod, claims)
	tok.Header["kid"] = t.cfg.ActiveKey
	return tok.SignedString(t.cfg.Keys[t.cfg.ActiveKey])
}

// Verify checks signature, algorithm, issuer, audience and expiry. It does
// not check revocation, which needs the user's current token version.
func (t *Tokens) Verify(raw string) (*Claims, error) {
	var c Claims
	_, err := t.parser.ParseWithClaims(raw, &c, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		key, ok := t.cfg.Keys[kid]
		if !ok {
			return nil, fmt.Errorf("unknown key id %q", kid)
		}
		return key, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if c.UserID() <= 0 || !c.Role.Valid() {
		return nil, fmt.Errorf("%w: bad subject or role", ErrInvalidToken)
	}
	return &c, nil
}

// randomToken returns n random bytes, base64url-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // the system's randomness source failing is not recoverable
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashToken is how refresh tokens are stored: a leaked table holds no usable token.
func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
