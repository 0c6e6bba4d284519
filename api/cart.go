package api

import (
	"context"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	cartv1 "github.com/shopkit/shop/gen/shop/cart/v1"
	catalogv1 "github.com/shopkit/shop/gen/shop/catalog/v1"
	"github.com/shopkit/shop/internal/address"
	"github.com/shopkit/shop/internal/backinstock"
	"github.com/shopkit/shop/internal/cart"
	"github.com/shopkit/shop/internal/coupons"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/validation"
)

// CartServer implements CartService over internal/cart, internal/coupons
// and internal/backinstock.
type CartServer struct {
	Cart    *cart.Store
	Coupons *coupons.Store
	Config  cart.Config
	// BackInStock keeps the notify-me subscriptions.
	BackInStock *backinstock.Store
	// ReminderSecret checks the unsubscribe tokens of cart reminders.
	ReminderSecret string
}

// reply answers a cart RPC with the caller's cart as it is after the change.
func (s *CartServer) reply(ctx context.Context, userID int64) (*cartv1.Cart, error) {
	c, err := s.Cart.View(ctx, userID, s.Config)
	if err != nil {
		return nil, err
	}
	return cartProto(c), nil
}

// GetCart implements CartService.
func (s *CartServer) GetCart(ctx context.Context, _ *connect.Request[cartv1.GetCartRequest]) (*connect.Response[cartv1.GetCartResponse], error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.reply(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&cartv1.GetCartResponse{Cart: c}), nil
}

// AddCartItem implements CartService.
func (s *CartServer) AddCartItem(ctx context.Context, req *connect.Request[cartv1.AddCartItemRequest]) (*connect.Response[cartv1.AddCartItemResponse], error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	qty := m.GetQuantity()
	if qty == 0 {
		// Unset in proto3 reads as zero; the API documents 0 as 1.
		qty = 1
	}
	if _, err := s.Cart.Add(ctx, p.UserID, s.Config, m.GetProductId(), m.GetVariantId(), qty); err != nil {
		return nil, err
	}
	c, err := s.reply(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&cartv1.AddCartItemResponse{Cart: c}), nil
}

// UpdateCartItem implements CartService.
func (s *CartServer) UpdateCartItem(ctx context.Context, req *connect.Request[cartv1.UpdateCartItemRequest]) (*connect.Response[cartv1.UpdateCartItemResponse], error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.Cart.Update(ctx, p.UserID, s.Config, req.Msg.GetItemId(), req.Msg.GetQuantity()); err != nil {
		return nil, err
	}
	c, err := s.reply(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&cartv1.UpdateCartItemResponse{Cart: c}), nil
}

// RemoveCartItem implements CartService.
func (s *CartServer) RemoveCartItem(ctx context.Context, req *connect.Request[cartv1.RemoveCartItemRequest]) (*connect.Response[cartv1.RemoveCartItemResponse], error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.Cart.Remove(ctx, p.UserID, req.Msg.GetItemId()); err != nil {
		return nil, err
	}
	c, err := s.reply(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&cartv1.RemoveCartItemResponse{Cart: c}), nil
}

// ApplyCoupon implements CartService.
func (s *CartServer) ApplyCoupon(ctx context.Context, req *connect.Request[cartv1.ApplyCouponRequest]) (*connect.Response[cartv1.ApplyCouponResponse], error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.Cart.SetCoupon(ctx, p.UserID, s.Config, req.Msg.GetCode(), time.Now()); err != nil {
		return nil, err
	}
	c, err := s.reply(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&cartv1.ApplyCouponResponse{Cart: c}), nil
}

// RemoveCoupon implements CartService.
func (s *CartServer) RemoveCoupon(ctx context.Context, _ *connect.Request[cartv1.RemoveCouponRequest]) (*connect.Response[cartv1.RemoveCouponResponse], error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.Cart.ClearCoupon(ctx, p.UserID); err != nil {
		return nil, err
	}
	c, err := s.reply(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&cartv1.RemoveCouponResponse{Cart: c}), nil
}

// SetShipping implements CartService.
func (s *CartServer) SetShipping(ctx context.Context, req *connect.Request[cartv1.SetShippingRequest]) (*connect.Response[cartv1.SetShippingResponse], error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	if err := s.Cart.SetShipping(ctx, p.UserID, s.Config, cart.Shipping{Method: m.GetShippingMethod(),
		Address: addressOfPB(m.GetAddress()), Country: m.GetCountry(), Region: m.GetRegion()}); err != nil {
		return nil, err
	}
	c, err := s.reply(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&cartv1.SetShippingResponse{Cart: c}), nil
}

// ListShippingMethods implements CartService.
func (s *CartServer) ListShippingMethods(context.Context, *connect.Request[cartv1.ListShippingMethodsRequest]) (*connect.Response[cartv1.ListShippingMethodsResponse], error) {
	out := &cartv1.ListShippingMethodsResponse{}
	for _, m := range s.Config.Shipping.Sorted() {
		pm := &cartv1.ShippingMethod{Code: m.Code, Name: m.Name, Price: pbMoney(m.Price)}
		if m.FreeOver > 0 {
			pm.FreeOver = pbMoney(money.Money{Amount: m.FreeOver, Currency: m.Price.Currency})
		}
		out.ShippingMethods = append(out.ShippingMethods, pm)
	}
	return connect.NewResponse(out), nil
}

// CreateCoupon implements CartService.
func (s *CartServer) CreateCoupon(ctx context.Context, req *connect.Request[cartv1.CreateCouponRequest]) (*connect.Response[cartv1.CreateCouponResponse], error) {
	m := req.Msg
	d := coupons.Draft{Code: m.GetCode(), Kind: m.GetKind(), PercentOff: m.GetPercentOff(),
		AmountOff: moneyOfPB(m.GetAmountOff()), MinSubtotal: moneyOfPB(m.GetMinSubtotal()),
		MaxUses: m.GetMaxUses(), MaxUsesPerUser: m.GetMaxUsesPerUser()}
	var err error
	if d.StartsAt, err = timeOfPB("starts_at", m.GetStartsAt()); err != nil {
		return nil, err
	}
	if d.EndsAt, err = timeOfPB("ends_at", m.GetEndsAt()); err != nil {
		return nil, err
	}
	c, err := s.Coupons.Create(ctx, d)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&cartv1.CreateCouponResponse{Coupon: couponProto(c)}), nil
}

// ListCoupons implements CartService.
func (s *CartServer) ListCoupons(ctx context.Context, _ *connect.Request[cartv1.ListCouponsRequest]) (*connect.Response[cartv1.ListCouponsResponse], error) {
	list, err := s.Coupons.List(ctx)
	if err != nil {
		return nil, err
	}
	out := &cartv1.ListCouponsResponse{Coupons: make([]*cartv1.Coupon, 0, len(list))}
	for _, c := range list {
		out.Coupons = append(out.Coupons, couponProto(c))
	}
	return connect.NewResponse(out), nil
}

// UnsubscribeCartReminders implements CartService.
func (s *CartServer) UnsubscribeCartReminders(ctx context.Context, req *connect.Request[cartv1.UnsubscribeCartRemindersRequest]) (*connect.Response[cartv1.UnsubscribeCartRemindersResponse], error) {
	userID, err := cart.ParseUnsubscribeToken(s.ReminderSecret, req.Msg.GetToken())
	if err != nil {
		return nil, err
	}
	if err := s.Cart.OptOutOfReminders(ctx, userID); err != nil {
		return nil, err
	}
	return connect.NewResponse(&cartv1.UnsubscribeCartRemindersResponse{Unsubscribed: true,
		Message: "You will get no more reminders about your cart."}), nil
}

// NotifyBackInStock implements CartService.
func (s *CartServer) NotifyBackInStock(ctx context.Context, req *connect.Request[cartv1.NotifyBackInStockRequest]) (*connect.Response[cartv1.NotifyBackInStockResponse], error) {
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	sub, err := s.BackInStock.Subscribe(ctx, p.UserID, req.Msg.GetProductId(), req.Msg.GetVariantId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&cartv1.NotifyBackInStockResponse{SubscriptionId: sub.ID, ProductId: sub.ProductID,
		VariantId: sub.VariantID, Message: "We will email you once it is back in stock."}), nil
}

func pbMoney(m money.Money) *catalogv1.Money {
	return &catalogv1.Money{AmountMinor: m.Amount, Currency: m.Currency}
}

func moneyOfPB(m *catalogv1.Money) money.Money {
	return money.Money{Amount: m.GetAmountMinor(), Currency: strings.ToUpper(strings.TrimSpace(m.GetCurrency()))}
}

// timeOfPB reads an optional timestamp; unset is the zero time.
func timeOfPB(field string, ts *timestamppb.Timestamp) (time.Time, error) {
	if ts == nil {
		return time.Time{}, nil
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, validation.New(field, "%v", err)
	}
	return ts.AsTime(), nil
}

func pbTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// decimalOf writes n units of 10^-exp as the shortest decimal:
// decimalOf(72500, 4) is "7.25", decimalOf(1500, 2) is "15".
func decimalOf(n int64, exp int) string {
	s := strconv.FormatInt(n, 10)
	if len(s) <= exp {
		s = strings.Repeat("0", exp-len(s)+1) + s
	}
	whole, frac := s[:len(s)-exp], strings.TrimRight(s[len(s)-exp:], "0")
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}

func couponProto(c coupons.Coupon) *cartv1.Coupon {
	out := &cartv1.Coupon{Code: c.Code, Kind: string(c.Kind), StartsAt: pbTime(c.StartsAt), EndsAt: pbTime(c.EndsAt),
		MaxUses: c.MaxUses, MaxUsesPerUser: c.MaxUsesPerUser, Uses: c.Uses, Active: c.Active}
	if c.Kind == coupons.KindPercent {
		out.PercentOff = decimalOf(c.PercentBP, 2)
	} else {
		out.AmountOff = pbMoney(c.AmountOff)
	}
	if c.MinSubtotal.Amount > 0 {
		out.MinSubtotal = pbMoney(c.MinSubtotal)
	}
	return out
}

// addressOfPB reads an optional address; unset is nil.
func addressOfPB(a *cartv1.Address) *address.Address {
	if a == nil {
		return nil
	}
	return &address.Address{Name: a.GetName(), Line1: a.GetLine1(), Line2: a.GetLine2(), City: a.GetCity(),
		Region: a.GetRegion(), PostalCode: a.GetPostalCode(), Country: a.GetCountry(), Phone: a.GetPhone()}
}

// pbAddress writes an optional address; nil or empty is unset.
func pbAddress(a *address.Address) *cartv1.Address {
	if a == nil || a.IsZero() {
		return nil
	}
	return &cartv1.Address{Name: a.Name, Line1: a.Line1, Line2: a.Line2, City: a.City, Region: a.Region,
		PostalCode: a.PostalCode, Country: a.Country, Phone: a.Phone}
}

func cartProto(c cart.Cart) *cartv1.Cart {
	out := &cartv1.Cart{CouponCode: c.CouponCode, CouponProblem: c.CouponProblem, ShippingMethod: c.ShippingMethod,
		ShippingCountry: c.Country, ShippingRegion: c.Region, Warnings: c.Warnings, UpdatedAt: pbTime(c.UpdatedAt),
		Shipping: pbAddress(&c.Destination), Lines: make([]*cartv1.CartLine, 0, len(c.Lines))}
	for _, l := range c.Lines {
		pl := &cartv1.CartLine{
			ItemId: l.ID, ProductId: l.ProductID, VariantId: l.VariantID, Sku: l.SKU, Name: l.Name, Quantity: l.Quantity,
			UnitPrice: pbMoney(l.UnitPrice), AddedPrice: pbMoney(l.AddedPrice),
			PriceChanged: l.PriceChanged, AvailableQuantity: l.Stock, InStock: l.InStock, Available: l.Available,
		}
		if l.LineTotal.Currency != "" {
			// Unset for a line above the maximum amount.
			pl.LineTotal = pbMoney(l.LineTotal)
		}
		out.Lines = append(out.Lines, pl)
	}
	if q := c.Quote; q != nil {
		out.Totals = &cartv1.Totals{
			Subtotal: pbMoney(q.Money(q.Subtotal)), Discount: pbMoney(q.Money(q.Discount)),
			Shipping: pbMoney(q.Money(q.Shipping)), Tax: pbMoney(q.Money(q.Tax)), Total: pbMoney(q.Money(q.Total)),
			TaxRatePercent: decimalOf(q.TaxPPM, 4),
		}
	}
	return out
}
