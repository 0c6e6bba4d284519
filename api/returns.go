package api

import (
	"context"
	"errors"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	returnsv1 "github.com/shopkit/shop/gen/shop/returns/v1"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/returns"
)

// ReturnFlows records return requests and drives returns through their
// workflows (workflows/returns.Client).
type ReturnFlows interface {
	Request(ctx context.Context, in returns.RequestInput) (returns.Return, error)
	Approve(ctx context.Context, id int64, d returns.Decision) (returns.Return, error)
	Refuse(ctx context.Context, id int64, d returns.Decision) (returns.Return, error)
	Receive(ctx context.Context, id int64, in returns.ReceiveInput) (returns.Return, error)
}

// ReturnServer implements shop.returns.v1.ReturnService: reads from the
// store, steps through the returns' workflows. A customer sees only the
// returns of their own orders: another's is not found.
type ReturnServer struct {
	Store  *returns.Store
	Flows  ReturnFlows
	Orders *orders.Store
}

func errNoReturns() error {
	return connect.NewError(connect.CodeUnimplemented, errors.New("returns are not enabled on this server"))
}

func returnMsg(r returns.Return) *returnsv1.Return {
	out := &returnsv1.Return{Id: r.ID, OrderId: r.OrderID, CustomerId: r.CustomerID, Status: string(r.Status), Reason: r.Reason,
		Note: r.CustomerNote, StaffNote: r.StaffNote, Currency: r.Currency, RestockingFeeMinor: r.RestockingFee,
		ShippingRefundMinor: r.ShippingRefund, RefundId: r.RefundID, RefundAmountMinor: r.RefundAmount,
		ExchangeShipmentIds: r.ExchangeShipments, CreatedAt: timestamppb.New(r.CreatedAt), DecidedAt: timeMsg(r.DecidedAt),
		ReceivedAt: timeMsg(r.ReceivedAt), ClosedAt: timeMsg(r.ClosedAt), UpdatedAt: timestamppb.New(r.UpdatedAt)}
	for _, l := range r.Lines {
		out.Lines = append(out.Lines, &returnsv1.ReturnLine{Line: l.Line, ProductId: l.ProductID, VariantId: l.VariantID,
			Sku: l.SKU, Name: l.Name, UnitPriceMinor: l.UnitPrice, Quantity: l.Quantity, Reason: l.Reason, Received: l.Received,
			Resellable: l.Resellable, Damaged: l.Damaged, LocationId: l.LocationID, ExchangeVariantId: l.ExchangeVariantID})
	}
	return out
}

// RequestReturn implements ReturnService.
func (s *ReturnServer) RequestReturn(ctx context.Context, req *connect.Request[returnsv1.RequestReturnRequest]) (*connect.Response[returnsv1.RequestReturnResponse], error) {
	if s.Flows == nil {
		return nil, errNoReturns()
	}
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	m := req.Msg
	in := returns.RequestInput{OrderID: m.GetOrderId(), Note: m.GetNote(), Reason: m.GetReason()}
	if !isStaff(p) {
		in.CustomerID = p.UserID // another customer's order is not found
	}
	for _, l := range m.GetLines() {
		in.Lines = append(in.Lines, returns.LineRequest{Line: l.GetLine(), Quantity: l.GetQuantity(), Reason: l.GetReason(),
			ExchangeVariantID: l.GetExchangeVariantId()})
	}
	r, err := s.Flows.Request(ctx, in)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&returnsv1.RequestReturnResponse{Return: returnMsg(r)}), nil
}

// ListOrderReturns implements ReturnService.
func (s *ReturnServer) ListOrderReturns(ctx context.Context, req *connect.Request[returnsv1.ListOrderReturnsRequest]) (*connect.Response[returnsv1.ListOrderReturnsResponse], error) {
	if s.Store == nil || s.Orders == nil {
		return nil, errNoReturns()
	}
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	o, err := s.Orders.Get(ctx, req.Msg.GetOrderId())
	if err != nil {
		return nil, err
	}
	if !isStaff(p) && o.UserID != p.UserID {
		return nil, connect.NewError(connect.CodeNotFound, orders.ErrNotFound)
	}
	list, err := s.Store.ForOrder(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	out := &returnsv1.ListOrderReturnsResponse{Returns: make([]*returnsv1.Return, 0, len(list))}
	for _, r := range list {
		out.Returns = append(out.Returns, returnMsg(r))
	}
	return connect.NewResponse(out), nil
}

// GetReturn implements ReturnService.
func (s *ReturnServer) GetReturn(ctx context.Context, req *connect.Request[returnsv1.GetReturnRequest]) (*connect.Response[returnsv1.GetReturnResponse], error) {
	if s.Store == nil {
		return nil, errNoReturns()
	}
	p, err := mustPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.Store.Get(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	if !isStaff(p) && r.CustomerID != p.UserID {
		return nil, connect.NewError(connect.CodeNotFound, returns.ErrNotFound)
	}
	return connect.NewResponse(&returnsv1.GetReturnResponse{Return: returnMsg(r)}), nil
}

// ListReturns implements ReturnService.
func (s *ReturnServer) ListReturns(ctx context.Context, req *connect.Request[returnsv1.ListReturnsRequest]) (*connect.Response[returnsv1.ListReturnsResponse], error) {
	if s.Store == nil {
		return nil, errNoReturns()
	}
	m := req.Msg
	f := returns.Filter{Limit: m.GetLimit(), AfterID: m.GetAfterId()}
	if f.Limit == 0 {
		f.Limit = 50
	}
	for _, name := range m.GetStatus() {
		st, err := returns.ParseStatus(name) // the schema allows only known ones
		if err != nil {
			return nil, err
		}
		f.Statuses = append(f.Statuses, st)
	}
	list, err := s.Store.List(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &returnsv1.ListReturnsResponse{Returns: make([]*returnsv1.Return, 0, len(list))}
	for _, r := range list {
		out.Returns = append(out.Returns, returnMsg(r))
	}
	if len(list) == int(f.Limit) {
		out.NextAfterId = list[len(list)-1].ID
	}
	return connect.NewResponse(out), nil
}

// step runs one staff step through the return's workflow.
func (s *ReturnServer) step(fn func(ReturnFlows) (returns.Return, error)) (*returnsv1.Return, error) {
	if s.Flows == nil {
		return nil, errNoReturns()
	}
	r, err := fn(s.Flows)
	if err != nil {
		return nil, err
	}
	return returnMsg(r), nil
}

// ApproveReturn implements ReturnService.
func (s *ReturnServer) ApproveReturn(ctx context.Context, req *connect.Request[returnsv1.ApproveReturnRequest]) (*connect.Response[returnsv1.ApproveReturnResponse], error) {
	d := returns.Decision{Note: req.Msg.GetNote(), By: actorOf(ctx)}
	if err := d.Normalize(); err != nil {
		return nil, err
	}
	r, err := s.step(func(f ReturnFlows) (returns.Return, error) { return f.Approve(ctx, req.Msg.GetId(), d) })
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&returnsv1.ApproveReturnResponse{Return: r}), nil
}

// RefuseReturn implements ReturnService.
func (s *ReturnServer) RefuseReturn(ctx context.Context, req *connect.Request[returnsv1.RefuseReturnRequest]) (*connect.Response[returnsv1.RefuseReturnResponse], error) {
	d := returns.Decision{Note: req.Msg.GetNote(), By: actorOf(ctx)}
	if err := d.Normalize(); err != nil {
		return nil, err
	}
	r, err := s.step(func(f ReturnFlows) (returns.Return, error) { return f.Refuse(ctx, req.Msg.GetId(), d) })
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&returnsv1.RefuseReturnResponse{Return: r}), nil
}

// ReceiveReturn implements ReturnService.
func (s *ReturnServer) ReceiveReturn(ctx context.Context, req *connect.Request[returnsv1.ReceiveReturnRequest]) (*connect.Response[returnsv1.ReceiveReturnResponse], error) {
	in := returns.ReceiveInput{Note: req.Msg.GetNote(), By: actorOf(ctx)}
	for _, l := range req.Msg.GetLines() {
		in.Lines = append(in.Lines, returns.ReceiveLine{Line: l.GetLine(), Resellable: l.GetResellable(), Damaged: l.GetDamaged(),
			LocationID: l.GetLocationId()})
	}
	// Checked here too, so a bad value never reaches a workflow.
	if err := in.Normalize(); err != nil {
		return nil, err
	}
	r, err := s.step(func(f ReturnFlows) (returns.Return, error) { return f.Receive(ctx, req.Msg.GetId(), in) })
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&returnsv1.ReceiveReturnResponse{Return: r}), nil
}
