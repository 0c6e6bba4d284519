package orders

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// OpenRefund opens, in tx (the order locked by Lock), a refund of kind for
// amount, bounded by what is still refundable; for refunds whose amount
// the caller works out (a return: its lines' share less a restocking fee,
// plus shipping). It answers a zero Refund when nothing is left to refund.
func OpenRefund(ctx context.Context, tx pgx.Tx, orderID, amount int64, kind, reason string, by int64) (Refund, error) {
	left, currency, err := refundable(ctx, tx, orderID)
	if err != nil {
		return Refund{}, err
	}
	amount = min(amount, left)
	if amount <= 0 {
		return Refund{}, nil
	}
	id, err := openRefund(ctx, tx, orderID, amount, currency, reason, by, kind)
	return Refund{ID: id, OrderID: orderID, Amount: amount, Currency: currency, Reason: reason, Kind: kind, Status: RefundPending}, err
}
