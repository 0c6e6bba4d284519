package api

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	fulfilmentv1 "github.com/shopkit/shop/gen/shop/fulfilment/v1"
	orderv1 "github.com/shopkit/shop/gen/shop/order/v1"
	"github.com/shopkit/shop/internal/fulfilment"
)

// FulfilmentFlows drives shipments through their workflows.
type FulfilmentFlows interface {
	Pick(ctx context.Context, shipmentID int64) (fulfilment.Shipment, error)
	Pack(ctx context.Context, shipmentID int64) (fulfilment.Shipment, error)
	Ship(ctx context.Context, shipmentID int64, in fulfilment.ShipInput) (fulfilment.Shipment, error)
	Deliver(ctx context.Context, shipmentID int64) (fulfilment.Shipment, error)
	ReportProblem(ctx context.Context, shipmentID int64, note string) (fulfilment.Shipment, error)
	// ResolveLost reships (answering the replacements) or refunds a lost parcel.
	ResolveLost(ctx context.Context, shipmentID int64, action string, by int64) (fulfilment.Shipment, []fulfilment.Shipment, error)
}

// FulfilmentServer implements shop.fulfilment.v1.FulfilmentService: reads
// from the store, steps through the shipments' workflows.
type FulfilmentServer struct {
	Store *fulfilment.Store
	Flows FulfilmentFlows
}

// errNoFulfilment answers when the server runs without fulfilment.
func errNoFulfilment() error {
	return connect.NewError(connect.CodeUnimplemented, errors.New("fulfilment is not enabled on this server"))
}

func timeMsg(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

func shipmentMsg(sh fulfilment.Shipment) *fulfilmentv1.Shipment {
	out := &fulfilmentv1.Shipment{Id: sh.ID, OrderId: sh.OrderID, CustomerId: sh.CustomerID, LocationId: sh.LocationID,
		LocationCode: sh.LocationCode, Status: string(sh.Status), Carrier: sh.Carrier, Service: sh.Service,
		TrackingNumber: sh.TrackingNumber, TrackingUrl: sh.TrackingURL, Problem: sh.Problem, Overdue: sh.Overdue,
		ReplacesId: sh.ReplacesID, Resolution: sh.Resolution, RefundId: sh.RefundID,
		CreatedAt: timestamppb.New(sh.CreatedAt), PickedAt: timeMsg(sh.PickedAt), PackedAt: timeMsg(sh.PackedAt),
		ShippedAt: timeMsg(sh.ShippedAt), LastScanAt: timeMsg(sh.LastScanAt), DeliveredAt: timeMsg(sh.DeliveredAt),
		UpdatedAt: timestamppb.New(sh.UpdatedAt)}
	for _, l := range sh.Lines {
		out.Lines = append(out.Lines, &fulfilmentv1.ShipmentLine{Line: l.Line, ProductId: l.ProductID, VariantId: l.VariantID,
			Sku: l.SKU, Name: l.Name, Quantity: l.Quantity})
	}
	return out
}

// orderShipmentMsg is a parcel as the order shows it: tracking for the
// customer, no problems or deadlines; the location for staff only.
func orderShipmentMsg(sh fulfilment.Shipment, staff bool) *orderv1.OrderShipment {
	out := &orderv1.OrderShipment{Id: sh.ID, Status: string(sh.Status), Carrier: sh.Carrier, Service: sh.Service,
		TrackingNumber: sh.TrackingNumber, TrackingUrl: sh.TrackingURL, ShippedAt: timeMsg(sh.ShippedAt),
		DeliveredAt: timeMsg(sh.DeliveredAt)}
	if staff {
		out.LocationCode = sh.LocationCode
	}
	for _, l := range sh.Lines {
		out.Lines = append(out.Lines, &orderv1.OrderShipmentLine{Line: l.Line, Sku: l.SKU, Name: l.Name, Quantity: l.Quantity})
	}
	return out
}

// ListShipments implements FulfilmentService.
func (s *FulfilmentServer) ListShipments(ctx context.Context, req *connect.Request[fulfilmentv1.ListShipmentsRequest]) (*connect.Response[fulfilmentv1.ListShipmentsResponse], error) {
	if s.Store == nil {
		return nil, errNoFulfilment()
	}
	m := req.Msg
	f := fulfilment.QueueFilter{LocationID: m.GetLocationId(), OrderID: m.GetOrderId(), Overdue: m.GetOverdue(),
		Limit: m.GetLimit(), AfterID: m.GetAfterId()}
	if f.Limit == 0 {
		f.Limit = 50
	}
	for _, name := range m.GetStatus() {
		st, err := fulfilment.ParseStatus(name) // the schema allows only known ones
		if err != nil {
			return nil, err
		}
		f.Statuses = append(f.Statuses, st)
	}
	list, err := s.Store.Queue(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &fulfilmentv1.ListShipmentsResponse{Shipments: make([]*fulfilmentv1.Shipment, 0, len(list))}
	for _, sh := range list {
		out.Shipments = append(out.Shipments, shipmentMsg(sh))
	}
	// A full page may have a next one.
	if len(list) == int(f.Limit) {
		out.NextAfterId = list[len(list)-1].ID
	}
	return connect.NewResponse(out), nil
}

// GetShipment implements FulfilmentService.
func (s *FulfilmentServer) GetShipment(ctx context.Context, req *connect.Request[fulfilmentv1.GetShipmentRequest]) (*connect.Response[fulfilmentv1.GetShipmentResponse], error) {
	if s.Store == nil {
		return nil, errNoFulfilment()
	}
	sh, err := s.Store.Get(ctx, req.Msg.GetId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&fulfilmentv1.GetShipmentResponse{Shipment: shipmentMsg(sh)}), nil
}

// step runs one workflow step and answers the shipment it left.
func (s *FulfilmentServer) step(fn func(FulfilmentFlows) (fulfilment.Shipment, error)) (*fulfilmentv1.Shipment, error) {
	if s.Flows == nil {
		return nil, errNoFulfilment()
	}
	sh, err := fn(s.Flows)
	if err != nil {
		return nil, err
	}
	return shipmentMsg(sh), nil
}

// PickShipment implements FulfilmentService.
func (s *FulfilmentServer) PickShipment(ctx context.Context, req *connect.Request[fulfilmentv1.PickShipmentRequest]) (*connect.Response[fulfilmentv1.PickShipmentResponse], error) {
	sh, err := s.step(func(f FulfilmentFlows) (fulfilment.Shipment, error) { return f.Pick(ctx, req.Msg.GetId()) })
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&fulfilmentv1.PickShipmentResponse{Shipment: sh}), nil
}

// PackShipment implements FulfilmentService.
func (s *FulfilmentServer) PackShipment(ctx context.Context, req *connect.Request[fulfilmentv1.PackShipmentRequest]) (*connect.Response[fulfilmentv1.PackShipmentResponse], error) {
	sh, err := s.step(func(f FulfilmentFlows) (fulfilment.Shipment, error) { return f.Pack(ctx, req.Msg.GetId()) })
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&fulfilmentv1.PackShipmentResponse{Shipment: sh}), nil
}

// ShipShipment implements FulfilmentService.
func (s *FulfilmentServer) ShipShipment(ctx context.Context, req *connect.Request[fulfilmentv1.ShipShipmentRequest]) (*connect.Response[fulfilmentv1.ShipShipmentResponse], error) {
	m := req.Msg
	in := fulfilment.ShipInput{Carrier: m.GetCarrier(), Service: m.GetService(), TrackingNumber: m.GetTrackingNumber(),
		TrackingURL: m.GetTrackingUrl()}
	// Checked here too, so a bad value never reaches a workflow.
	if err := in.Normalize(); err != nil {
		return nil, err
	}
	sh, err := s.step(func(f FulfilmentFlows) (fulfilment.Shipment, error) { return f.Ship(ctx, m.GetId(), in) })
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&fulfilmentv1.ShipShipmentResponse{Shipment: sh}), nil
}

// DeliverShipment implements FulfilmentService.
func (s *FulfilmentServer) DeliverShipment(ctx context.Context, req *connect.Request[fulfilmentv1.DeliverShipmentRequest]) (*connect.Response[fulfilmentv1.DeliverShipmentResponse], error) {
	sh, err := s.step(func(f FulfilmentFlows) (fulfilment.Shipment, error) { return f.Deliver(ctx, req.Msg.GetId()) })
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&fulfilmentv1.DeliverShipmentResponse{Shipment: sh}), nil
}

// ReportShipmentProblem implements FulfilmentService.
func (s *FulfilmentServer) ReportShipmentProblem(ctx context.Context, req *connect.Request[fulfilmentv1.ReportShipmentProblemRequest]) (*connect.Response[fulfilmentv1.ReportShipmentProblemResponse], error) {
	sh, err := s.step(func(f FulfilmentFlows) (fulfilment.Shipment, error) {
		return f.ReportProblem(ctx, req.Msg.GetId(), req.Msg.GetNote())
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&fulfilmentv1.ReportShipmentProblemResponse{Shipment: sh}), nil
}

// ResolveLostShipment implements FulfilmentService.
func (s *FulfilmentServer) ResolveLostShipment(ctx context.Context, req *connect.Request[fulfilmentv1.ResolveLostShipmentRequest]) (*connect.Response[fulfilmentv1.ResolveLostShipmentResponse], error) {
	if s.Flows == nil {
		return nil, errNoFulfilment()
	}
	sh, replacements, err := s.Flows.ResolveLost(ctx, req.Msg.GetId(), req.Msg.GetAction(), actorOf(ctx))
	if err != nil {
		return nil, err
	}
	out := &fulfilmentv1.ResolveLostShipmentResponse{Shipment: shipmentMsg(sh)}
	for _, r := range replacements {
		out.Replacements = append(out.Replacements, shipmentMsg(r))
	}
	return connect.NewResponse(out), nil
}
