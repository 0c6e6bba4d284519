// Package identity holds accounts, passwords, access and refresh tokens,
// roles and address books.
package identity

import (
	"errors"
	"fmt"
	"time"

	"github.com/shopkit/shop/internal/address"
)

// Role is what an account may do; see api's access table.
type Role string

// Roles, from least to most privileged.
const (
	RoleCustomer Role = "customer"
	RoleStaff    Role = "staff"
	RoleAdmin    Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleCustomer || r == RoleStaff || r == RoleAdmin }

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	if r := Role(s); r.Valid() {
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q; want customer, staff or admin", s)
}

// Errors the API maps to status codes.
var (
	// ErrInvalidCredentials is the one answer for an unknown user and a wrong password.
	ErrInvalidCredentials = errors.New("invalid username or password")
	ErrUsernameTaken      = errors.New("username is already taken")
	ErrEmailTaken         = errors.New("email is already registered")
	ErrNotFound           = errors.New("not found")
	// ErrTokenReused means a rotated refresh token came back: its whole family is revoked.
	ErrTokenReused = fmt.Errorf("%w: refresh token reuse detected; all sessions of this login were revoked", ErrInvalidToken)
	// ErrLoginUnavailable means failed-login tracking is down; login fails closed.
	ErrLoginUnavailable = errors.New("login is temporarily unavailable")
	// ErrAuthUnavailable means an access token's revocation could not be
	// checked; the token is refused rather than trusted (fail closed).
	ErrAuthUnavailable = errors.New("sign-in checks are temporarily unavailable")
	// ErrLastAdmin refuses a change that would leave the shop without an active admin.
	ErrLastAdmin = errors.New("the shop must keep at least one active admin")
)

// LockedError means too many failed logins; try again after RetryAfter.
type LockedError struct{ RetryAfter time.Duration }

func (e *LockedError) Error() string {
	return fmt.Sprintf("too many failed login attempts; try again in %s", e.RetryAfter.Round(time.Second))
}

// User is an account.
type User struct {
	ID           int64
	Username     string
	Email        string
	FirstName    string
	LastName     string
	Role         Role
	Active       bool
	TokenVersion int
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Principal is the authenticated caller of a request.
type Principal struct {
	UserID   int64
	Username string
	Role     Role
}

// Session is what a login or a refresh hands out.
type Session struct {
	AccessToken  string
	ExpiresIn    time.Duration
	RefreshToken string
}

// AddressKind says what an address is for.
type AddressKind string

// Address kinds.
const (
	Shipping AddressKind = "shipping"
	Billing  AddressKind = "billing"
)

// Address is an entry of a user's address book.
type Address struct {
	ID         int64
	Kind       AddressKind
	FullName   string
	Line1      string
	Line2      string
	City       string
	Region     string
	PostalCode string
	Country    string // ISO 3166-1 alpha-2
	Phone      string
	IsDefault  bool
}

// Postal is the address as the address package checks and prints it.
func (a Address) Postal() address.Address {
	return address.Address{Name: a.FullName, Line1: a.Line1, Line2: a.Line2, City: a.City,
		Region: a.Region, PostalCode: a.PostalCode, Country: a.Country, Phone: a.Phone}
}
