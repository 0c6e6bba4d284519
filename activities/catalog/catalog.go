// Package catalog holds the activities that write the product catalog.
package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/catalog/demodata"
)

// DemoSource names the demo catalog bundled in the binary.
const DemoSource = "builtin:demo"

// Error types the import workflow must not retry.
const (
	ErrTypeBadFile     = "BadImportFile"
	ErrTypeFileChanged = "ImportFileChanged"
)

// Activities imports catalog files into the store.
type Activities struct {
	Store *catalog.Store
}

// InspectResult describes an import file before it is imported.
type InspectResult struct {
	Rows     int
	Checksum string
}

// RowError is a row that could not be imported, and why.
type RowError struct {
	Row    int
	Reason string
}

// BatchInput selects the data rows [From, To) of a file (0-based).
type BatchInput struct {
	Source   string
	Checksum string
	From, To int
}

// BatchResult counts what one batch did.
type BatchResult struct {
	Inserted, Updated, Unchanged int
	Errors                       []RowError
}

// InspectCatalogFile reads and parses the file once, so the workflow can plan batches.
func (a *Activities) InspectCatalogFile(ctx context.Context, source string) (InspectResult, error) {
	rows, sum, err := load(source)
	if err != nil {
		return InspectResult{}, err
	}
	activity.GetLogger(ctx).Info("import file inspected", "source", source, "rows", len(rows))
	return InspectResult{Rows: len(rows), Checksum: sum}, nil
}

// ImportCatalogBatch upserts one slice of the file by SKU. It is idempotent: a
// retry after a crash rewrites the same rows to the same values.
func (a *Activities) ImportCatalogBatch(ctx context.Context, in BatchInput) (BatchResult, error) {
	rows, sum, err := load(in.Source)
	if err != nil {
		return BatchResult{}, err
	}
	if sum != in.Checksum {
		return BatchResult{}, temporal.NewNonRetryableApplicationError(
			"the import file changed while it was being imported; start a new import", ErrTypeFileChanged, nil)
	}
	if in.From < 0 || in.To > len(rows) || in.From > in.To {
		return BatchResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("batch [%d,%d) is outside the file's %d rows", in.From, in.To, len(rows)), ErrTypeBadFile, nil)
	}
	var res BatchResult
	var valid []catalog.ProductInput
	for _, r := range rows[in.From:in.To] {
		if r.Err != "" {
			res.Errors = append(res.Errors, RowError{Row: r.Row, Reason: r.Err})
			continue
		}
		valid = append(valid, r.Product)
	}
	if len(valid) > 0 {
		up, err := a.Store.UpsertProducts(ctx, valid)
		if err != nil {
			return BatchResult{}, err // database trouble: retried
		}
		res.Inserted, res.Updated = up.Inserted, up.Updated
		res.Unchanged = len(valid) - up.Inserted - up.Updated
	}
	return res, nil
}

func load(source string) ([]catalog.ImportRow, string, error) {
	var data []byte
	if source == DemoSource {
		data = demodata.Catalog
	} else {
		path := strings.TrimPrefix(source, "file://")
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
			return nil, "", temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("cannot read import file %q on the worker: %v", path, err), ErrTypeBadFile, nil)
		}
		if err != nil {
			return nil, "", err
		}
		data = b
	}
	sum := sha256.Sum256(data)
	rows, err := catalog.ParseImport(data)
	if err != nil {
		return nil, "", temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeBadFile, nil)
	}
	return rows, hex.EncodeToString(sum[:]), nil
}
