// Package searchattr names the Temporal search attributes of the order
// workflows, once: the workflows and their clients set them, operators
// filter on them in the Temporal UI, and deploy/stack.sh registers them from
// deploy/search-attributes, which is generated from All.
package searchattr

//go:generate go run ./gen ../../deploy/search-attributes

import (
	"strings"

	"go.temporal.io/sdk/temporal"
)

// The keys.
var (
	CustomerID  = temporal.NewSearchAttributeKeyKeyword("CustomerId")
	OrderID     = temporal.NewSearchAttributeKeyKeyword("OrderId")
	OrderStatus = temporal.NewSearchAttributeKeyKeyword("OrderStatus")
	// RefundStatus is a refund workflow's: the order's own status is
	// OrderStatus, on the order's fulfilment (or its checkout before that).
	RefundStatus = temporal.NewSearchAttributeKeyKeyword("RefundStatus")
	// A shipment's status, location and whether it missed a deadline.
	FulfilmentStatus = temporal.NewSearchAttributeKeyKeyword("FulfilmentStatus")
	LocationID       = temporal.NewSearchAttributeKeyKeyword("LocationId")
	Overdue          = temporal.NewSearchAttributeKeyBool("Overdue")
	// ReturnStatus is a return workflow's (requested, approved, ...).
	ReturnStatus = temporal.NewSearchAttributeKeyKeyword("ReturnStatus")
)

// All lists every key, as a namespace must register them.
var All = []temporal.SearchAttributeKey{CustomerID, OrderID, OrderStatus, RefundStatus, FulfilmentStatus, LocationID, Overdue, ReturnStatus}

// File answers deploy/search-attributes: All as the Temporal CLI takes
// them (Name=Type, e.g. OrderId=Keyword), one per line, after a comment.
func File() string {
	var b strings.Builder
	b.WriteString("# Generated from internal/searchattr by `go generate ./internal/searchattr`; do not edit.\n")
	b.WriteString("# deploy/stack.sh registers these search attributes (Name=Type) in the Temporal namespace.\n")
	for _, k := range All {
		// IndexedValueType's String is "Keyword", "Int", ... as the CLI wants.
		b.WriteString(k.GetName() + "=" + k.GetValueType().String() + "\n")
	}
	return b.String()
}
