package identity

import (
	"net/mail"
	"regexp"
	"strings"

	"github.com/shopkit/shop/internal/validation"
)

var (
	usernamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$`)
	countryPattern  = regexp.MustCompile(`^[A-Z]{2}$`)
)

// RegisterInput is a new account.
type RegisterInput struct {
	Username  string
	Email     string
	Password  string
	FirstName string
	LastName  string
}

func (in *RegisterInput) normalize() error {
	in.Username = strings.TrimSpace(in.Username)
	in.FirstName = strings.TrimSpace(in.FirstName)
	in.LastName = strings.TrimSpace(in.LastName)
	switch {
	case in.Username == "":
		return validation.New("username", "is required")
	case !usernamePattern.MatchString(in.Username):
		return validation.New("username", "must be 3-32 characters of letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	email, err := normalizeEmail(in.Email)
	if err != nil {
		return err
	}
	in.Email = email
	if in.Password == "" {
		return validation.New("password", "is required")
	}
	if err := checkName("first_name", in.FirstName); err != nil {
		return err
	}
	if err := checkName("last_name", in.LastName); err != nil {
		return err
	}
	return CheckPasswordPolicy(in.Password, in.Username, in.Email)
}

func normalizeEmail(raw string) (string, error) {
	e := strings.TrimSpace(raw)
	if e == "" {
		return "", validation.New("email", "is required")
	}
	a, err := mail.ParseAddress(e)
	_, domain, _ := strings.Cut(e, "@")
	if err != nil || a.Address != e || len(e) > 254 || !strings.Contains(domain, ".") {
		return "", validation.New("email", "is not a valid email address")
	}
	return e, nil
}

func checkName(field, v string) error {
	if len(v) > 100 {
		return validation.New(field, "must be at most 100 characters")
	}
	return nil
}

func (a *Address) normalize() error {
	for _, f := range []*string{&a.FullName, &a.Line1, &a.Line2, &a.City, &a.Region, &a.PostalCode, &a.Phone} {
		*f = strings.TrimSpace(*f)
	}
	a.Country = strings.ToUpper(strings.TrimSpace(a.Country))
	switch {
	case a.Kind != Shipping && a.Kind != Billing:
		return validation.New("kind", "must be shipping or billing")
	case a.FullName == "":
		return validation.New("full_name", "is required")
	case a.Line1 == "":
		return validation.New("line1", "is required")
	case a.City == "":
		return validation.New("city", "is required")
	case a.PostalCode == "":
		return validation.New("postal_code", "is required")
	case !countryPattern.MatchString(a.Country):
		return validation.New("country", "must be a two-letter ISO 3166 code such as US")
	}
	for field, v := range map[string]string{"full_name": a.FullName, "line1": a.Line1, "line2": a.Line2,
		"city": a.City, "region": a.Region, "postal_code": a.PostalCode, "phone": a.Phone} {
		if len(v) > 200 {
			return validation.New(field, "must be at most 200 characters")
		}
	}
	return nil
}
