package cart

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/shopkit/shop/internal/validation"
)

// UnsubscribeToken is the token of userID's link that stops cart reminders:
// the user id and an HMAC of it under secret, so no one can stop another
// shopper's reminders by guessing an id.
func UnsubscribeToken(secret string, userID int64) string {
	id := strconv.FormatInt(userID, 10)
	return id + "." + base64.RawURLEncoding.EncodeToString(unsubscribeMAC(secret, id))
}

func unsubscribeMAC(secret, id string) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte("cart-reminders-unsubscribe:" + id))
	return h.Sum(nil)
}

// ParseUnsubscribeToken answers the user whose token it is, or a
// validation error naming the token field.
func ParseUnsubscribeToken(secret, token string) (int64, error) {
	bad := validation.New("token", "is not a valid unsubscribe link; open the link of the email again")
	id, sig, ok := strings.Cut(strings.TrimSpace(token), ".")
	if !ok {
		return 0, bad
	}
	userID, err := strconv.ParseInt(id, 10, 64)
	if err != nil || userID <= 0 || strconv.FormatInt(userID, 10) != id {
		return 0, bad
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, unsubscribeMAC(secret, id)) {
		return 0, bad
	}
	return userID, nil
}

// OptOutOfReminders records that userID wants no more cart reminders; doing
// it again changes nothing.
func (s *Store) OptOutOfReminders(ctx context.Context, userID int64) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO cart_reminder_optouts (user_id)
		SELECT id FROM users WHERE id = $1 ON CONFLICT (user_id) DO NOTHING`, userID); err != nil {
		return fmt.Errorf("cart: opt out of reminders: %w", err)
	}
	return nil
}

// Reminder is what a cart reminder needs to know now.
type Reminder struct {
	Email, Name string
	// OptedOut: the shopper followed an unsubscribe link; send nothing.
	OptedOut bool
	// Items are the cart's lines now; none when it was emptied or checked out.
	Items []Item
}

// ErrNoShopper means the user of a cart no longer exists (or is inactive).
var ErrNoShopper = errors.New("cart: shopper not found")

// ReminderFor reads userID's cart and reminder choice as they are now.
func (s *Store) ReminderFor(ctx context.Context, userID int64) (Reminder, error) {
	var r Reminder
	err := s.pool.QueryRow(ctx, `SELECT u.email, u.first_name,
			EXISTS (SELECT 1 FROM cart_reminder_optouts o WHERE o.user_id = u.id)
		FROM users u WHERE u.id = $1 AND u.active`, userID).Scan(&r.Email, &r.Name, &r.OptedOut)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("%w: %d", ErrNoShopper, userID)
	}
	if err != nil {
		return r, fmt.Errorf("cart: reminder: %w", err)
	}
	c, err := s.load(ctx, s.pool, userID, false)
	if err != nil {
		return r, err
	}
	for _, it := range c.Items {
		if it.Available {
			r.Items = append(r.Items, it)
		}
	}
	return r, nil
}
