package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	cartv1 "github.com/shopkit/shop/gen/shop/cart/v1"
	catalogv1 "github.com/shopkit/shop/gen/shop/catalog/v1"
	orderv1 "github.com/shopkit/shop/gen/shop/order/v1"
	"github.com/shopkit/shop/internal/address"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/payments"
	"github.com/shopkit/shop/internal/validation"
	"github.com/shopkit/shop/workflows/checkout"
	"github.com/shopkit/shop/workflows/refund"
)

// OrderFlows starts and talks to the order workflows; Workflows is the
// shop's own.
type OrderFlows interface {
	CheckoutFlows
	RefundFlows
}

// CheckoutFlows is what the API asks of checkouts (checkout.Client).
type CheckoutFlows interface {
	Place(ctx context.Context, in orders.PlaceInput) (checkout.Reservation, error)
	Cancel(ctx context.Context, orderID int64, r checkout.CancelRequest) error
	PaymentEvent(ctx context.Context, orderID int64, ev checkout.PaymentEvent) error
}

// RefundFlows is what the API asks of refunds and of cancellations of paid
// orders (refund.Client).
type RefundFlows interface {
	CancelPaid(ctx context.Context, in refund.CancelInput) error
	StartRefund(ctx context.Context, in refund.Input) error
	ResolveRefund(ctx context.Context, refundID int64, r refund.Resolution) error
}

// Workflows joins a checkout client and a refund client into OrderFlows.
type Workflows struct {
	CheckoutFlows
	RefundFlows
}

// idempotencyKeyPattern is what an Idempotency-Key may be (a UUID, say);
// empty means none.
var idempotencyKeyPattern = regexp.MustCompile(`^[\x20-\x7e]{0,255}$`)

// PaymentIntents reads PaymentIntents at Stripe (payments.Stripe).
type PaymentIntents interface {
	GetPaymentIntent(ctx context.Context, id string) (payments.PaymentIntent, error)
}

// OrderServer implements shop.order.v1.OrderService.
type OrderServer struct {
	Orders   *orders.Store
	Flows    OrderFlows
	Identity *identity.Service
	Payments PaymentIntents // nil: orders answer without a client secret
	// Shipments gives GetOrder the order's parcels; nil: none.
	Shipments *fulfilment.Store
}

func isStaff(p identity.Principal) bool {
	return p.Role == identity.RoleStaff || p.Role == identity.RoleAdmin
}

// CreateOrder places the order through its checkout workflow and answers
// once the stock is reserved, or with why it was refused.
func (s *OrderServer) CreateOrder(ctx context.Context, req *connect.Request[orderv1.CreateOrderRequest]) (*connect.Response[orderv1.CreateOrderResponse], error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	in := orders.PlaceInput{
		UserID: p.UserID, Shipping: addressOfPB(m.GetShipping()), ShippingAddress: m.GetShippingAddress(),
		Billing: addressOfPB(m.GetBilling()), BillingAddress: m.GetBillingAddress(),
		PaymentMethod: m.GetPaymentMethod(), CouponCode: m.GetCouponCode(), ShippingMethod: m.GetShippingMethod(),
		Country: m.GetShippingCountry(), Region: m.GetShippingRegion(),
	}
	for _, it := range m.GetItems() {
		in.Items = append(in.Items, orders.Item{ProductID: it.GetProductId(), VariantID: it.GetVariantId(), Quantity: it.GetQuantity()})
	}
	if id := m.GetShippingAddressId(); id != 0 {
		if in.Shipping != nil || strings.TrimSpace(in.ShippingAddress) != "" {
			return nil, validation.New("shipping_address_id", "send one of shipping, shipping_address_id and shipping_address")
		}
		if err := s.useAddressBook(ctx, p.UserID, id, &in); err != nil {
			return nil, err
		}
	}
	if err := in.Validate(s.Orders.Settings()); err != nil {
		return nil, err
	}
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, err
	}
	key := strings.TrimSpace(req.Header().Get("Idempotency-Key"))
	if !idempotencyKeyPattern.MatchString(key) {
		return nil, validation.New("Idempotency-Key", "must be at most 255 printable ASCII characters")
	}
	in.OrderID, err = s.Orders.ClaimOrderID(ctx, p.UserID, key, body)
	if err != nil {
		return nil, err
	}
	res, err := s.Flows.Place(ctx, in)
	if err != nil {
		return nil, err
	}
	if r := res.Rejection; r != nil {
		if r.Field != "" {
			return nil, validation.New(r.Field, "%s", r.Message)
		}
		return nil, connect.NewError(connect.CodeFailedPrecondition, errors.New(r.Message))
	}
	o, err := s.Orders.Get(ctx, in.OrderID)
	if err != nil {
		return nil, err
	}
	out := orderPB(o, isStaff(p))
	if out.PaymentIntentId == "" {
		out.PaymentIntentId = res.PaymentIntentID
	}
	out.ClientSecret = s.clientSecret(ctx, o.ID, out.PaymentIntentId)
	return connect.NewResponse(&orderv1.CreateOrderResponse{Order: out}), nil
}

// useAddressBook ships to an entry of the caller's address book: its
// structured address, validated again as any shipping address is.
func (s *OrderServer) useAddressBook(ctx context.Context, userID, id int64, in *orders.PlaceInput) error {
	book, err := s.Identity.ListAddresses(ctx, userID)
	if err != nil {
		return err
	}
	for _, a := range book {
		if a.ID != id {
			continue
		}
		to, err := address.Normalize(a.Postal(), "", address.Full)
		if err != nil {
			// Saved before addresses were checked as they are now.
			return validation.New("shipping_address_id", "address %d in your address book needs correcting: %v", id, err)
		}
		in.Shipping = &to
		return nil
	}
	return validation.New("shipping_address_id", "no address %d in your address book", id)
}

// own returns the order if the caller may see it; another customer's order
// is "not found", so its existence is not revealed.
func (s *OrderServer) own(ctx context.Context, id int64) (orders.Order, identity.Principal, error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return orders.Order{}, p, err
	}
	o, err := s.Orders.Get(ctx, id)
	if err == nil && o.UserID != p.UserID && !isStaff(p) {
		err = fmt.Errorf("order %d: %w", id, orders.ErrNotFound)
	}
	return o, p, err
}

// ListOrders lists the caller's orders; staff see everyone's.
func (s *OrderServer) ListOrders(ctx context.Context, req *connect.Request[orderv1.ListOrdersRequest]) (*connect.Response[orderv1.ListOrdersResponse], error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	f := orders.ListFilter{UserID: p.UserID, Skip: m.GetSkip(), Limit: m.GetLimit()}
	if isStaff(p) {
		f.UserID = m.GetUserId()
	} else if m.GetUserId() != 0 && m.GetUserId() != p.UserID {
		return nil, connect.NewError(connect.CodePermissionDenied, errors.New("user_id: only staff may list other customers' orders"))
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	// The schema allows only known statuses.
	f.Status = orders.Status(m.GetStatus())
	list, total, err := s.Orders.List(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &orderv1.ListOrdersResponse{Total: total, Skip: f.Skip, Limit: f.Limit}
	for _, o := range list {
		out.Orders = append(out.Orders, orderPB(o, isStaff(p)))
	}
	return connect.NewResponse(out), nil
}

// GetOrder returns an order with its timeline; while it awaits payment,
// its owner also gets the client secret to pay with.
func (s *OrderServer) GetOrder(ctx context.Context, req *connect.Request[orderv1.GetOrderRequest]) (*connect.Response[orderv1.GetOrderResponse], error) {
	o, p, err := s.own(ctx, req.Msg.GetOrderId())
	if err != nil {
		return nil, err
	}
	out := orderPB(o, isStaff(p))
	if s.Shipments != nil {
		parcels, err := s.Shipments.ForOrder(ctx, o.ID)
		if err != nil {
			return nil, err
		}
		for _, sh := range parcels {
			out.Shipments = append(out.Shipments, orderShipmentMsg(sh, isStaff(p)))
		}
	}
	if o.Status == orders.StatusAwaitingPayment && o.UserID == p.UserID {
		out.ClientSecret = s.clientSecret(ctx, o.ID, o.PaymentIntentID)
	}
	return connect.NewResponse(&orderv1.GetOrderResponse{Order: out}), nil
}

// clientSecret reads the PaymentIntent's client secret from Stripe: the
// shop keeps it nowhere (no table, history or query holds it). Empty when
// there is no PaymentIntent yet or Stripe does not answer; the order is
// still worth answering, and reading it again gets the secret.
func (s *OrderServer) clientSecret(ctx context.Context, orderID int64, paymentIntentID string) string {
	if paymentIntentID == "" || s.Payments == nil {
		return ""
	}
	pi, err := s.Payments.GetPaymentIntent(ctx, paymentIntentID)
	if err != nil {
		slog.WarnContext(ctx, "client secret not read from Stripe", "order_id", orderID, "error", err)
		return ""
	}
	return pi.ClientSecret
}

// CancelOrder cancels an unshipped order: an unpaid one through its checkout
// (which releases the stock and cancels the PaymentIntent), a paid one
// through the cancellation workflow (stock back, full refund).
func (s *OrderServer) CancelOrder(ctx context.Context, req *connect.Request[orderv1.CancelOrderRequest]) (*connect.Response[orderv1.CancelOrderResponse], error) {
	o, p, err := s.own(ctx, req.Msg.GetOrderId())
	if err != nil {
		return nil, err
	}
	reason := req.Msg.GetReason()
	switch o.Status {
	case orders.StatusAwaitingPayment:
		r := checkout.CancelRequest{Reason: reason}
		if o.UserID != p.UserID {
			r.By = string(p.Role) + " " + p.Username
		}
		err = s.Flows.Cancel(ctx, o.ID, r)
	case orders.StatusPaid:
		if reason == "" {
			reason = "cancelled by " + p.Username
		}
		err = s.Flows.CancelPaid(ctx, refund.CancelInput{OrderID: o.ID, CustomerID: o.UserID, PaymentIntentID: o.PaymentIntentID, Reason: reason, By: p.UserID})
	case orders.StatusCancelled:
		// Cancelling twice answers the cancelled order.
	default:
		err = fmt.Errorf("%w: the order is %s", orders.ErrNotCancellable, o.Status)
	}
	if err != nil {
		return nil, err
	}
	if o, err = s.Orders.Get(ctx, o.ID); err != nil {
		return nil, err
	}
	return connect.NewResponse(&orderv1.CancelOrderResponse{Order: orderPB(o, isStaff(p))}), nil
}

// RefundOrder opens a refund (bounded by what is left to refund) and starts
// its workflow.
func (s *OrderServer) RefundOrder(ctx context.Context, req *connect.Request[orderv1.RefundOrderRequest]) (*connect.Response[orderv1.RefundOrderResponse], error) {
	o, p, err := s.own(ctx, req.Msg.GetOrderId())
	if err != nil {
		return nil, err
	}
	var amount int64
	if a := req.Msg.GetAmount(); a != nil {
		if a.GetCurrency() != "" && a.GetCurrency() != o.Currency {
			return nil, validation.New("amount.currency", "the order was paid in %s", o.Currency)
		}
		amount = a.GetAmountMinor()
	}
	r, err := s.Orders.RequestRefund(ctx, o.ID, amount, req.Msg.GetReason(), p.UserID)
	if err != nil {
		return nil, err
	}
	if err := s.Flows.StartRefund(ctx, refund.Input{RefundID: r.ID, OrderID: o.ID, CustomerID: o.UserID, Amount: r.Amount, PaymentIntentID: o.PaymentIntentID}); err != nil {
		return nil, err
	}
	return connect.NewResponse(&orderv1.RefundOrderResponse{Refund: refundPB(r, true)}), nil
}

// ResolveRefund passes an operator's decision to a refund needing attention.
func (s *OrderServer) ResolveRefund(ctx context.Context, req *connect.Request[orderv1.ResolveRefundRequest]) (*connect.Response[orderv1.ResolveRefundResponse], error) {
	// The schema allows only the actions refund.Action* name.
	action := req.Msg.GetAction()
	r, err := s.Orders.GetRefund(ctx, req.Msg.GetRefundId())
	if err != nil {
		return nil, err
	}
	if r.Status != orders.RefundNeedsAttention {
		return nil, fmt.Errorf("%w: refund %d is %s", orders.ErrRefundNotOpen, r.ID, r.Status)
	}
	if err := s.Flows.ResolveRefund(ctx, r.ID, refund.Resolution{Action: action, Note: req.Msg.GetNote()}); err != nil {
		return nil, err
	}
	return connect.NewResponse(&orderv1.ResolveRefundResponse{Refund: refundPB(r, true)}), nil
}

// orderPB answers an order; staff also get each refund's last error, which
// may quote Stripe or an operator.
func orderPB(o orders.Order, staff bool) *orderv1.Order {
	m := func(v int64) *catalogv1.Money { return pbMoney(money.Money{Amount: v, Currency: o.Currency}) }
	out := &orderv1.Order{
		Id: o.ID, UserId: o.UserID, Status: string(o.Status), StatusReason: o.StatusReason,
		Totals: &cartv1.Totals{Subtotal: m(o.Subtotal), Discount: m(o.Discount), Shipping: m(o.Shipping), Tax: m(o.Tax),
			Total: m(o.Total), TaxRatePercent: decimalOf(o.TaxPPM, 4)},
		CouponCode: o.CouponCode, ShippingMethod: o.ShippingMethod, ShippingAddress: o.ShippingAddress,
		BillingAddress: o.BillingAddress, ShippingCountry: o.Country, ShippingRegion: o.Region,
		PaymentMethod: o.PaymentMethod, PaymentIntentId: o.PaymentIntentID, Captured: m(o.Captured), Refunded: m(o.Refunded),
		CreatedAt: timestamppb.New(o.CreatedAt), UpdatedAt: timestamppb.New(o.UpdatedAt),
		WorkflowId: checkout.WorkflowID(o.ID), Shipping: pbAddress(o.ShipTo),
	}
	if o.PaidAt != nil {
		out.PaidAt = timestamppb.New(*o.PaidAt)
	}
	for _, l := range o.Lines {
		out.Lines = append(out.Lines, &orderv1.OrderLine{ProductId: l.ProductID, VariantId: l.VariantID, Sku: l.SKU,
			Name: l.Name, Quantity: l.Quantity, UnitPrice: m(l.UnitPrice), LineTotal: m(l.LineTotal)})
	}
	for _, e := range o.Events {
		out.Timeline = append(out.Timeline, &orderv1.OrderEvent{Status: e.Status, Note: e.Note, At: timestamppb.New(e.At)})
	}
	for _, r := range o.Refunds {
		out.Refunds = append(out.Refunds, refundPB(r, staff))
	}
	return out
}

func refundPB(r orders.Refund, staff bool) *orderv1.Refund {
	if !staff {
		r.LastError = ""
	}
	return &orderv1.Refund{
		Id: r.ID, OrderId: r.OrderID, Amount: pbMoney(money.Money{Amount: r.Amount, Currency: r.Currency}),
		Reason: r.Reason, Status: string(r.Status), StripeRefundId: r.StripeRefundID, LastError: r.LastError,
		CreatedAt: timestamppb.New(r.CreatedAt), UpdatedAt: timestamppb.New(r.UpdatedAt),
	}
}
