package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"

	"github.com/shopkit/shop/internal/money"
)

// The kinds of email the shop sends.
const (
	KindOrderConfirmation = "order_confirmation"
	KindPaymentFailed     = "payment_failed"
	KindOrderCancelled    = "order_cancelled"
	KindRefundIssued      = "refund_issued"
	KindCartReminder      = "cart_reminder"
	KindBackInStock       = "back_in_stock"
	KindLowStock          = "low_stock" // to staff
	KindShipmentShipped   = "shipment_shipped"
	KindShipmentDelivered = "shipment_delivered"
	KindShipmentDelayed   = "shipment_delayed"
	KindFulfilmentAlert   = "fulfilment_alert" // to staff: a missed deadline, a lost parcel
	KindReturnApproved    = "return_approved"
	KindReturnRefused     = "return_refused"
)

// ErrUnknownKind means no template exists for the requested kind.
var ErrUnknownKind = errors.New("mail: unknown email kind")

// Line is one order line as shown in an email.
type Line struct {
	Name, SKU            string
	Quantity             int32
	UnitPrice, LineTotal money.Money
}

// OrderEmail is the data every email template is rendered with: the order
// emails, cart reminders (Lines, Link, UnsubscribeURL) and back-in-stock
// notices (ProductName, Link).
type OrderEmail struct {
	CustomerName                             string
	OrderID                                  int64
	Lines                                    []Line
	Subtotal, Discount, Shipping, Tax, Total money.Money
	Amount                                   money.Money // the refunded amount (refund_issued)
	Reason                                   string      // why a payment failed, an order was cancelled or refunded
	ShippingAddress                          string
	Link                                     string // where the email leads: the cart, the product
	UnsubscribeURL                           string // stops the emails of this kind
	ProductName                              string // the product back in stock
	// A parcel (shipment emails): Lines are then the parcel's.
	ShipmentID              int64
	Carrier, TrackingNumber string
	TrackingURL             string
	// A return (return emails): Lines are then its lines, Reason staff's note.
	ReturnID int64
}

//go:embed templates
var templateFS embed.FS

var funcs = map[string]any{
	// minus shows a deduction with its sign whichever sign it is stored with.
	"minus": func(m money.Money) money.Money {
		if m.Amount > 0 {
			m.Amount = -m.Amount
		}
		return m
	},
	"splitLines": func(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") },
}

type kindTemplates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// templates are parsed once at start-up: a broken template fails every
// test of this package rather than an email in production.
var templates = func() map[string]kindTemplates {
	m := map[string]kindTemplates{}
	for _, k := range []string{KindOrderConfirmation, KindPaymentFailed, KindOrderCancelled, KindRefundIssued,
		KindCartReminder, KindBackInStock, KindLowStock, KindShipmentShipped, KindShipmentDelivered, KindShipmentDelayed,
		KindFulfilmentAlert, KindReturnApproved, KindReturnRefused} {
		m[k] = kindTemplates{
			text: texttemplate.Must(texttemplate.New(k).Funcs(funcs).
				ParseFS(templateFS, "templates/common.txt", "templates/"+k+".txt")),
			html: htmltemplate.Must(htmltemplate.New(k).Funcs(funcs).
				ParseFS(templateFS, "templates/common.html", "templates/"+k+".html")),
		}
	}
	return m
}()

// Render produces the subject, plain-text body and HTML body of an email.
// Customer-provided text is escaped in the HTML body.
func Render(kind string, d OrderEmail) (subject, text, html string, err error) {
	t, ok := templates[kind]
	if !ok {
		return "", "", "", fmt.Errorf("%w %q", ErrUnknownKind, kind)
	}
	var s, b, h bytes.Buffer
	if err := t.text.ExecuteTemplate(&s, "subject", d); err != nil {
		return "", "", "", fmt.Errorf("mail: render %s subject: %w", kind, err)
	}
	if err := t.text.ExecuteTemplate(&b, "body", d); err != nil {
		return "", "", "", fmt.Errorf("mail: render %s text: %w", kind, err)
	}
	if err := t.html.ExecuteTemplate(&h, "layout", d); err != nil {
		return "", "", "", fmt.Errorf("mail: render %s html: %w", kind, err)
	}
	return oneLine(s.String()), b.String(), h.String(), nil
}
