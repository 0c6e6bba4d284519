package identity

import (
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"

	"github.com/shopkit/shop/internal/validation"
)

// Argon2id parameters (RFC 9106's second recommended option, with 64 MiB).
// They are stored in each hash, so raising them later keeps old hashes valid.
type argonParams struct {
	memoryKiB uint32
	time      uint32
	threads   uint8
	keyLen    uint32
}

var defaultParams = argonParams{memoryKiB: 64 * 1024, time: 3, threads: 2, keyLen: 32}

// Password policy.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 128
)

//go:embed common_passwords.txt
var commonPasswordsFile string

var commonPasswords = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, line := range strings.Split(commonPasswordsFile, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			m[strings.ToLower(line)] = true
		}
	}
	return m
})

// CheckPasswordPolicy explains what is wrong with a new password, if anything.
func CheckPasswordPolicy(password, username, email string) error {
	switch n := len([]rune(password)); {
	case n < MinPasswordLen:
		return validation.New("password", "must be at least %d characters", MinPasswordLen)
	case len(password) > MaxPasswordLen:
		return validation.New("password", "must be at most %d bytes", MaxPasswordLen)
	}
	lower := strings.ToLower(password)
	local, _, _ := strings.Cut(strings.ToLower(email), "@")
	switch {
	case username != "" && strings.Contains(lower, strings.ToLower(username)):
		return validation.New("password", "must not contain the username")
	case len(local) >= 4 && strings.Contains(lower, local):
		return validation.New("password", "must not contain the email address")
	case commonPasswords()[lower]:
		return validation.New("password", "is too common; choose another")
	}
	return nil
}

// HashPassword returns an argon2id hash in the PHC string format.
func HashPassword(password string) (string, error) {
	return hashWith(password, defaultParams)
}

func hashWith(password string, p argonParams) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.time, p.memoryKiB, p.threads, p.keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memoryKiB, p.time, p.threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var errBadHash = errors.New("identity: malformed password hash")

// VerifyPassword checks password against hash in constant time.
func VerifyPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	var p argonParams
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memoryKiB, &p.time, &p.threads); err != nil {
		return false, errBadHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(password), salt, p.time, p.memoryKiB, p.threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// dummyHash is verified against when the user does not exist, so that an
// unknown user and a wrong password take the same time.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword("not-a-real-password-" + fmt.Sprint(defaultParams))
	if err != nil {
		panic(err)
	}
	return h
})
