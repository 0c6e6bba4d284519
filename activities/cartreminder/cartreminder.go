// Package cartreminder holds the activity that prepares an abandoned-cart
// reminder from the cart as it is when the reminder is due.
package cartreminder

import (
	"context"
	"errors"
	"net/url"
	"strings"

	emailact "github.com/shopkit/shop/activities/email"
	"github.com/shopkit/shop/internal/cart"
	"github.com/shopkit/shop/internal/failure"
	"github.com/shopkit/shop/internal/mail"
)

// Why a due reminder is not sent; each ends the reminders of the cart.
const (
	SkipEmpty      = "cart emptied or checked out"
	SkipOptedOut   = "unsubscribed"
	SkipNoShopper  = "shopper gone"
	UnsubscribeAPI = "/api/cart-reminders/unsubscribe"
)

// Activities reads carts; links in the emails start at ShopURL, and Secret
// signs their unsubscribe tokens.
type Activities struct {
	Carts   *cart.Store
	ShopURL string
	Secret  string
}

// Request asks for the reminder of UserID's cart sent under Key.
type Request struct {
	UserID int64
	Key    string
}

// Prepared is the email to send, or why none is.
type Prepared struct {
	Skip  string // "" when Email is to be sent
	Email emailact.Input
}

// UnsubscribeURL is the link that stops userID's cart reminders.
func UnsubscribeURL(shopURL, secret string, userID int64) string {
	return strings.TrimRight(shopURL, "/") + UnsubscribeAPI + "?token=" + url.QueryEscape(cart.UnsubscribeToken(secret, userID))
}

// PrepareReminder re-reads the cart and the shopper's choice: a cart
// emptied or checked out meanwhile, or a shopper who unsubscribed, gets
// nothing.
func (a *Activities) PrepareReminder(ctx context.Context, r Request) (Prepared, error) {
	rem, err := a.Carts.ReminderFor(ctx, r.UserID)
	if errors.Is(err, cart.ErrNoShopper) {
		return Prepared{Skip: SkipNoShopper}, nil
	}
	if err != nil {
		return Prepared{}, failure.ForActivity(err)
	}
	switch {
	case rem.OptedOut:
		return Prepared{Skip: SkipOptedOut}, nil
	case len(rem.Items) == 0:
		return Prepared{Skip: SkipEmpty}, nil
	}
	data := mail.OrderEmail{
		CustomerName:   rem.Name,
		Link:           strings.TrimRight(a.ShopURL, "/") + "/cart",
		UnsubscribeURL: UnsubscribeURL(a.ShopURL, a.Secret, r.UserID),
	}
	for _, it := range rem.Items {
		data.Lines = append(data.Lines, mail.Line{Name: it.Name, SKU: it.SKU, Quantity: it.Quantity, UnitPrice: it.UnitPrice})
	}
	return Prepared{Email: emailact.Input{Key: r.Key, Kind: mail.KindCartReminder, To: rem.Email, Data: data}}, nil
}
