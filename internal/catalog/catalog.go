// Package catalog holds categories and products: the domain rules and their
// PostgreSQL storage, shared by the API handlers and the import activities.
package catalog

import (
	"errors"
	"time"

	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/validation"
)

// Errors the API maps to status codes.
var (
	// ErrNotFound means the category, product or variant does not exist (or is archived).
	ErrNotFound = errors.New("not found")
	// ErrSKUTaken means another product or variant already has the SKU.
	ErrSKUTaken = errors.New("SKU is already in use")
	// ErrInsufficientStock means a stock decrease would go below zero.
	ErrInsufficientStock = errors.New("insufficient stock")
	// ErrCategoryInUse means the category still has active products or subcategories.
	ErrCategoryInUse = errors.New("category still has active products or subcategories")
)

func fieldErr(field, format string, args ...any) error {
	return validation.New(field, format, args...)
}

// Paging limits for listings.
const (
	DefaultLimit = 50
	MaxLimit     = 100
)

// Category is a node of the category tree.
type Category struct {
	ID          int64
	Name        string
	Slug        string
	ParentID    int64 // 0 for a top-level category
	Description string
}

// Product is a sellable item.
type Product struct {
	ID            int64
	SKU           string
	Name          string
	Description   string
	Brand         string
	CategoryID    int64
	Price         money.Money
	StockQuantity int32
	Attributes    map[string]string
	Active        bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	Variants      []Variant // filled by GetProduct only
}

// Variant is a purchasable version of a product (a size, a colour) with its
// own SKU and stock, and optionally its own price.
type Variant struct {
	ID            int64
	ProductID     int64
	SKU           string
	Attributes    map[string]string
	Price         *money.Money // nil: the product's price
	StockQuantity int32
	Active        bool
}

// ListFilter selects a page of products.
type ListFilter struct {
	Skip       int32
	Limit      int32
	CategoryID int64
	Search     string
}

// Normalize applies defaults and checks the bounds, naming the bad field.
func (f *ListFilter) Normalize() error {
	if f.Skip < 0 {
		return fieldErr("skip", "must not be negative")
	}
	if f.Limit < 0 || f.Limit > MaxLimit {
		return fieldErr("limit", "must be between 1 and %d", MaxLimit)
	}
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	if f.CategoryID < 0 {
		return fieldErr("category_id", "must not be negative")
	}
	if len(f.Search) > 200 {
		return fieldErr("search", "must be at most 200 characters")
	}
	return nil
}
