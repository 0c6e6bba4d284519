package api

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	inventoryv1 "github.com/shopkit/shop/gen/shop/inventory/v1"
	"github.com/shopkit/shop/internal/inventory"
)

// InventoryServer implements InventoryService over inventory.Store.
type InventoryServer struct {
	Store *inventory.Store
}

func locationMsg(l inventory.Location) *inventoryv1.Location {
	return &inventoryv1.Location{Id: l.ID, Name: l.Name, Code: l.Code, Address: l.Address, Country: l.Country,
		Priority: l.Priority, Active: l.Active, IsDefault: l.Default, CreatedAt: timestamppb.New(l.CreatedAt)}
}

func levelMsg(l inventory.Level) *inventoryv1.StockLevel {
	return &inventoryv1.StockLevel{LocationId: l.Location.ID, LocationCode: l.Location.Code, VariantId: l.VariantID,
		OnHand: l.OnHand, Reserved: l.Reserved, Available: l.Available(), LocationActive: l.Location.Active}
}

func resultMsg(r inventory.Result, variantID int64) *inventoryv1.StockLevel {
	return &inventoryv1.StockLevel{LocationId: r.LocationID, LocationCode: r.LocationCode, VariantId: variantID,
		OnHand: r.OnHand, Reserved: r.Reserved, Available: r.OnHand - r.Reserved, LocationActive: r.LocationActive}
}

func actorOf(ctx context.Context) int64 {
	if p, ok := principalFrom(ctx); ok {
		return p.UserID
	}
	return 0
}

// ListLocations implements InventoryService.
func (s *InventoryServer) ListLocations(ctx context.Context, _ *connect.Request[inventoryv1.ListLocationsRequest]) (*connect.Response[inventoryv1.ListLocationsResponse], error) {
	list, err := s.Store.Locations(ctx)
	if err != nil {
		return nil, err
	}
	out := &inventoryv1.ListLocationsResponse{Locations: make([]*inventoryv1.Location, 0, len(list))}
	for _, l := range list {
		out.Locations = append(out.Locations, locationMsg(l))
	}
	return connect.NewResponse(out), nil
}

// CreateLocation implements InventoryService.
func (s *InventoryServer) CreateLocation(ctx context.Context, req *connect.Request[inventoryv1.CreateLocationRequest]) (*connect.Response[inventoryv1.CreateLocationResponse], error) {
	m := req.Msg
	l, err := s.Store.CreateLocation(ctx, inventory.LocationInput{Name: &m.Name, Code: &m.Code, Address: &m.Address,
		Country: &m.Country, Priority: &m.Priority, Active: m.Active})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&inventoryv1.CreateLocationResponse{Location: locationMsg(l)}), nil
}

// UpdateLocation implements InventoryService.
func (s *InventoryServer) UpdateLocation(ctx context.Context, req *connect.Request[inventoryv1.UpdateLocationRequest]) (*connect.Response[inventoryv1.UpdateLocationResponse], error) {
	m := req.Msg
	l, err := s.Store.UpdateLocation(ctx, m.GetId(), inventory.LocationInput{Name: m.Name, Code: m.Code, Address: m.Address,
		Country: m.Country, Priority: m.Priority, Active: m.Active})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&inventoryv1.UpdateLocationResponse{Location: locationMsg(l)}), nil
}

// GetProductStock implements InventoryService.
func (s *InventoryServer) GetProductStock(ctx context.Context, req *connect.Request[inventoryv1.GetProductStockRequest]) (*connect.Response[inventoryv1.GetProductStockResponse], error) {
	levels, err := s.Store.ProductStock(ctx, req.Msg.GetProductId())
	if err != nil {
		return nil, err
	}
	out := &inventoryv1.GetProductStockResponse{ProductId: req.Msg.GetProductId(), Levels: make([]*inventoryv1.StockLevel, 0, len(levels))}
	for _, l := range levels {
		out.Levels = append(out.Levels, levelMsg(l))
		if l.VariantID == 0 && l.Location.Active {
			out.StockQuantity += l.Available()
		}
	}
	return connect.NewResponse(out), nil
}

// AdjustLocationStock implements InventoryService.
func (s *InventoryServer) AdjustLocationStock(ctx context.Context, req *connect.Request[inventoryv1.AdjustLocationStockRequest]) (*connect.Response[inventoryv1.AdjustLocationStockResponse], error) {
	m := req.Msg
	r, err := s.Store.Adjust(ctx, inventory.Adjustment{LocationID: m.GetLocationId(), ProductID: m.GetProductId(),
		VariantID: m.GetVariantId(), Delta: m.GetDelta(), Reason: m.GetReason(), ActorID: actorOf(ctx)})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&inventoryv1.AdjustLocationStockResponse{Level: resultMsg(r, m.GetVariantId()), StockQuantity: r.Sellable}), nil
}

// TransferStock implements InventoryService.
func (s *InventoryServer) TransferStock(ctx context.Context, req *connect.Request[inventoryv1.TransferStockRequest]) (*connect.Response[inventoryv1.TransferStockResponse], error) {
	m := req.Msg
	r, err := s.Store.Transfer(ctx, inventory.Transfer{ProductID: m.GetProductId(), VariantID: m.GetVariantId(),
		FromLocationID: m.GetFromLocationId(), ToLocationID: m.GetToLocationId(), Quantity: m.GetQuantity(),
		Reason: m.GetReason(), ActorID: actorOf(ctx)})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&inventoryv1.TransferStockResponse{TransferId: r.ID, From: resultMsg(r.From, m.GetVariantId()),
		To: resultMsg(r.To, m.GetVariantId()), StockQuantity: r.From.Sellable}), nil
}
