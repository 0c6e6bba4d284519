package recommender

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"unsafe"
)

// ErrModelFormat: the bytes were written by a build with another model
// format (retrain to replace the model).
var ErrModelFormat = errors.New("recommender: model written in another format")

// formatVersion guards Load against bytes written by an incompatible build.
const formatVersion = 2

// modelData is Model without its methods, so that gob does not call
// MarshalBinary recursively.
type modelData Model

type envelope struct {
	Format int
	Model  *modelData
}

// MarshalBinary serialises the whole model (encoding/gob; the arrays are
// flat slices, so decoding is a handful of large copies).
func (m *Model) MarshalBinary() ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(envelope{formatVersion, (*modelData)(m)}); err != nil {
		return nil, fmt.Errorf("recommender: encode model: %w", err)
	}
	return b.Bytes(), nil
}

// Load decodes a model written by MarshalBinary.
func Load(data []byte) (*Model, error) {
	var e envelope
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&e); err != nil {
		return nil, fmt.Errorf("recommender: decode model: %w", err)
	}
	if e.Format != formatVersion || e.Model == nil || e.Model.Data == nil {
		return nil, fmt.Errorf("%w: format %d, this build reads %d", ErrModelFormat, e.Format, formatVersion)
	}
	m := (*Model)(e.Model)
	m.Data.reindex()
	if m.Data.Items == nil {
		m.Data.Items = make([]Item, len(m.Data.ItemIDs))
	}
	m.link()
	return m, nil
}

// MemoryBytes is the approximate heap size of the model's arrays and maps.
func (m *Model) MemoryBytes() int64 {
	d := m.Data
	n := size(d.UserIDs) + size(d.ItemIDs) + size(d.Items) + size(d.UserPtr) + size(d.Entries) +
		size(d.ItemPtr) + size(d.ItemUsers) + size(d.ItemVals)
	n += int64(len(d.UserIDs)+len(d.ItemIDs)) * 24 // id maps, roughly
	for _, it := range d.Items {
		n += int64(len(it.Name) + len(it.Brand) + len(it.Description))
	}
	n += size(m.Popular.Scores) + nbSize(m.KNN.N) + nbSize(m.Content.N) + nbSize(m.EASE.N)
	n += size(m.ALS.X) + size(m.ALS.Y) + size(m.ALS.YtY)
	n += size(m.BuyAgain.Repeatable) + size(m.BuyAgain.Cadence) + size(m.Hybrid.Cold) + size(m.Hybrid.Candidates)
	for _, c := range m.Calibration {
		n += size(c.X) + size(c.Y)
	}
	return n
}

func size[T any](s []T) int64 {
	var zero T
	return int64(len(s)) * int64(unsafe.Sizeof(zero))
}

func nbSize(n neighbours) int64 { return size(n.Ptr) + size(n.Idx) + size(n.Sim) }
