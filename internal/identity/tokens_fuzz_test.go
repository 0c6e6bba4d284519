package identity

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var fuzzNow = time.Unix(1_800_000_000, 0)

func fuzzTokens(tb testing.TB) *Tokens {
	tok, err := NewTokens(TokenConfig{Issuer: "shop", Audience: "shop-api", TTL: 15 * time.Minute,
		Keys: map[string][]byte{"a": keyA}, ActiveKey: "a"})
	if err != nil {
		tb.Fatal(err)
	}
	tok.now = func() time.Time { return fuzzNow }
	return tok
}

// signToken signs claims with method and key under kid, as an attacker could.
func signToken(tb testing.TB, method jwt.SigningMethod, key any, kid string, c Claims) string {
	tok := jwt.NewWithClaims(method, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func validClaims() Claims {
	return Claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: "shop", Subject: "7", Audience: jwt.ClaimStrings{"shop-api"},
		IssuedAt: jwt.NewNumericDate(fuzzNow), ExpiresAt: jwt.NewNumericDate(fuzzNow.Add(time.Minute))}, Role: RoleAdmin, Version: 1}
}

// FuzzVerifyToken: no text verifies unless it is an HS256 JWS whose
// signature is the HMAC of its first two parts under the configured key,
// with the claims the shop needs.
func FuzzVerifyToken(f *testing.F) {
	tok := fuzzTokens(f)
	good, err := tok.Issue(alice)
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(good, ".")
	for _, s := range []string{good, "", "not.a.jwt", parts[0] + "." + parts[1] + ".",
		parts[0] + "." + strings.TrimRight(parts[1], "=") + "x." + parts[2],
		signToken(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "a", validClaims()),
		signToken(f, jwt.SigningMethodHS512, keyA, "a", validClaims()),
		signToken(f, jwt.SigningMethodHS256, keyB, "a", validClaims()),
		signToken(f, jwt.SigningMethodHS256, keyA, "zzz", validClaims()),
		signToken(f, jwt.SigningMethodHS256, keyA, "a", validClaims()),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := tok.Verify(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify error does not wrap ErrInvalidToken: %v", err)
			}
			return
		}
		p := strings.Split(raw, ".")
		if len(p) != 3 {
			t.Fatalf("accepted a token of %d parts", len(p))
		}
		hb, err := base64.RawURLEncoding.DecodeString(p[0])
		var h struct{ Alg, Kid string }
		if err != nil || json.Unmarshal(hb, &h) != nil || h.Alg != "HS256" || h.Kid != "a" {
			t.Fatalf("accepted a token whose header is not HS256 with kid a: %q", hb)
		}
		m := hmac.New(sha256.New, keyA)
		m.Write([]byte(p[0] + "." + p[1]))
		sig, err := base64.RawURLEncoding.DecodeString(p[2])
		if err != nil || !hmac.Equal(sig, m.Sum(nil)) {
			t.Fatalf("accepted a token not signed with the key: %q", raw)
		}
		if c.UserID() <= 0 || !c.Role.Valid() || c.ExpiresAt == nil || !c.ExpiresAt.Add(5*time.Second).After(fuzzNow) ||
			c.Issuer != "shop" {
			t.Fatalf("accepted claims the shop cannot use: %+v", c)
		}
	})
}

// FuzzTokenAlgorithms signs chosen claims with every algorithm family and
// key: only HS256 with the configured key and valid claims is accepted.
func FuzzTokenAlgorithms(f *testing.F) {
	f.Add(uint8(0), uint8(0), "7", "admin", "shop", "shop-api", int64(60))
	f.Add(uint8(1), uint8(0), "7", "admin", "shop", "shop-api", int64(60))
	f.Add(uint8(2), uint8(0), "7", "customer", "shop", "shop-api", int64(60))
	f.Add(uint8(0), uint8(1), "7", "customer", "shop", "shop-api", int64(60))
	f.Add(uint8(0), uint8(2), "7", "staff", "shop", "shop-api", int64(60))
	f.Add(uint8(0), uint8(0), "0", "root", "evil", "other-api", int64(-60))
	f.Add(uint8(0), uint8(0), "-1", "admin", "shop", "shop-api", int64(60))
	f.Add(uint8(0), uint8(0), "+7", "admin", "shop", "shop-api", int64(60))
	tok := fuzzTokens(f)
	f.Fuzz(func(t *testing.T, alg, key uint8, sub, role, iss, aud string, exp int64) {
		c := validClaims()
		c.Subject, c.Role, c.Issuer, c.Audience = sub, Role(role), iss, jwt.ClaimStrings{aud}
		c.ExpiresAt = jwt.NewNumericDate(fuzzNow.Add(time.Duration(exp%100000) * time.Second))
		methods := []jwt.SigningMethod{jwt.SigningMethodHS256, jwt.SigningMethodHS384, jwt.SigningMethodHS512, jwt.SigningMethodNone}
		method := methods[int(alg)%len(methods)]
		keys := []any{keyA, keyB, []byte("")}
		var k any = keys[int(key)%len(keys)]
		if method == jwt.SigningMethodNone {
			k = jwt.UnsafeAllowNoneSignatureType
		}
		kb, _ := k.([]byte)
		if method != jwt.SigningMethodNone && len(kb) == 0 {
			return // jwt refuses to sign with an empty key
		}
		raw := signToken(t, method, k, "a", c)
		got, err := tok.Verify(raw)
		shouldPass := method == jwt.SigningMethodHS256 && string(kb) == string(keyA) && iss == "shop" && aud == "shop-api" &&
			exp%100000 > -5 && Role(role).Valid() && c.UserID() > 0
		if err == nil && !shouldPass {
			t.Fatalf("accepted alg %s, key %d, claims %+v", method.Alg(), key, c)
		}
		if err != nil && shouldPass && exp%100000 > 5 {
			t.Fatalf("refused a valid token: %v", err)
		}
		if err == nil && (got.Subject != sub || got.Role != Role(role)) {
			t.Fatalf("claims changed in transit: %+v", got)
		}
	})
}
