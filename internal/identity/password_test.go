package identity

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/validation"
)

func TestHashAndVerify(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	require.NoError(t, err)
	assert.Contains(t, h, "$argon2id$v=19$m=65536,t=3,p=2$")
	ok, err := VerifyPassword(h, "correct horse battery")
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = VerifyPassword(h, "correct horse batterY")
	require.NoError(t, err)
	assert.False(t, ok)

	h2, err := HashPassword("correct horse battery")
	require.NoError(t, err)
	assert.NotEqual(t, h, h2, "salted")

	_, err = VerifyPassword("$2a$10$bcrypt", "x")
	assert.Error(t, err)
}

func TestPasswordPolicy(t *testing.T) {
	for pw, field := range map[string]string{
		"short":                 "password",
		"johndoe-is-great-2024": "password", // contains the username
		"password1234":          "password", // common
		"PASSWORD1234":          "password", // common, any case
		"john@example-pass":     "password", // contains the email's local part? (john)
	} {
		err := CheckPasswordPolicy(pw, "johndoe", "john@example.com")
		var ve *validation.Error
		require.ErrorAs(t, err, &ve, pw)
		assert.Equal(t, field, ve.Field)
	}
	assert.NoError(t, CheckPasswordPolicy("SecurePass123!", "johndoe", "john@example.com"), "the documented example passes")
}
