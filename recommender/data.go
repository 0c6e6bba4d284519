// Package recommender is the algorithmic core of product recommendations:
// a dataset of weighted, time-decayed implicit feedback, several scorers
// (popular, itemknn, als, content, buy_again) and a learned hybrid blend,
// all trained into one serialisable Model that answers Recommend requests.
package recommender

import (
	"math"
	"slices"
	"time"
)

// Kind is what a shopper did with an item.
type Kind uint8

// The kinds of interaction, weakest signal first.
const (
	View Kind = iota
	Cart
	Purchase
	Rating
)

var kindNames = [...]string{"view", "cart", "purchase", "rating"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// ParseKind maps "view", "cart", "purchase" or "rating" to its Kind.
func ParseKind(s string) (Kind, bool) {
	i := slices.Index(kindNames[:], s)
	return Kind(max(i, 0)), i >= 0
}

// Interaction is one event of a user with an item. Weight scales the kind's
// weight (e.g. a rating or a quantity); 0 means 1.
type Interaction struct {
	UserID, ItemID int64
	Kind           Kind
	Weight         float64
	At             time.Time
}

// Item is catalog metadata used by the content scorer and the filters.
// Repeatable marks consumables that buy_again may recommend again.
type Item struct {
	ID          int64
	CategoryID  int64
	Category    string // its name, for reasons people read ("popular in Laptops")
	Brand       string
	Name        string
	Description string
	Repeatable  bool
}

// Weighting turns interactions into implicit-feedback strengths.
type Weighting struct {
	Kinds    [4]float64    // weight per Kind, indexed by Kind
	HalfLife time.Duration // 0: no decay
}

// DefaultWeighting: a purchase says more than a cart add, which says more
// than a view; interest halves every 90 days.
func DefaultWeighting() Weighting {
	return Weighting{Kinds: [4]float64{View: 1, Cart: 3, Purchase: 8, Rating: 1}, HalfLife: 90 * 24 * time.Hour}
}

// Of is the strength of one interaction seen from the reference time ref.
func (w Weighting) Of(in Interaction, ref time.Time) float64 {
	v := w.Kinds[min(int(in.Kind), 3)]
	if in.Weight != 0 {
		v *= in.Weight
	}
	if w.HalfLife > 0 && in.At.Before(ref) {
		v *= math.Exp2(-float64(ref.Sub(in.At)) / float64(w.HalfLife))
	}
	return v
}

// Entry is one user's aggregated history with one item (dense indices).
type Entry struct {
	Item      int32
	Weight    float32 // sum of decayed interaction strengths
	Purchases int32
	FirstBuy  int64 // unix seconds of the first and last purchase, 0 if none
	LastBuy   int64
	Last      int64 // unix seconds of the latest interaction of any kind
}

// Dataset indexes users and items densely (sorted by id, so indices are
// deterministic) and holds the user×item matrix in both orientations.
type Dataset struct {
	UserIDs, ItemIDs []int64
	userIdx, itemIdx map[int64]int32
	Items            []Item // metadata by item index (zero value when unknown)

	UserPtr []int32 // CSR: user u's entries are Entries[UserPtr[u]:UserPtr[u+1]], sorted by item
	Entries []Entry

	ItemPtr   []int32 // CSC: item i's users and weights
	ItemUsers []int32
	ItemVals  []float32

	Ref time.Time // reference time of the decay
}

// NewDataset builds the matrix from interactions and indexes every catalog
// item too (items without interactions still reach users through content).
// ref is the decay reference time; zero means the latest interaction.
func NewDataset(ins []Interaction, catalog []Item, w Weighting, ref time.Time) *Dataset {
	if ref.IsZero() {
		for _, in := range ins {
			if in.At.After(ref) {
				ref = in.At
			}
		}
	}
	d := &Dataset{Ref: ref, userIdx: map[int64]int32{}, itemIdx: map[int64]int32{}}
	users, items := map[int64]bool{}, map[int64]bool{}
	for _, in := range ins {
		users[in.UserID], items[in.ItemID] = true, true
	}
	for _, it := range catalog {
		items[it.ID] = true
	}
	d.UserIDs, d.ItemIDs = sortedKeys(users), sortedKeys(items)
	for i, id := range d.UserIDs {
		d.userIdx[id] = int32(i)
	}
	for i, id := range d.ItemIDs {
		d.itemIdx[id] = int32(i)
	}
	d.Items = make([]Item, len(d.ItemIDs))
	for i, id := range d.ItemIDs {
		d.Items[i].ID = id
	}
	for _, it := range catalog {
		d.Items[d.itemIdx[it.ID]] = it
	}

	// Bucket by user, then aggregate each user's events per item.
	perUser := make([][]Interaction, len(d.UserIDs))
	for _, in := range ins {
		u := d.userIdx[in.UserID]
		perUser[u] = append(perUser[u], in)
	}
	d.UserPtr = make([]int32, len(d.UserIDs)+1)
	for u, evs := range perUser {
		d.Entries = append(d.Entries, d.aggregate(evs, w, ref)...)
		d.UserPtr[u+1] = int32(len(d.Entries))
		perUser[u] = nil
	}
	d.buildItemIndex()
	return d
}

// aggregate folds one user's events into entries sorted by item index.
func (d *Dataset) aggregate(evs []Interaction, w Weighting, ref time.Time) []Entry {
	byItem := map[int32]*Entry{}
	for _, in := range evs {
		i := d.itemIdx[in.ItemID]
		e := byItem[i]
		if e == nil {
			e = &Entry{Item: i}
			byItem[i] = e
		}
		e.Weight += float32(w.Of(in, ref))
		e.Last = max(e.Last, in.At.Unix())
		if in.Kind == Purchase {
			t := in.At.Unix()
			if e.Purchases == 0 || t < e.FirstBuy {
				e.FirstBuy = t
			}
			e.LastBuy = max(e.LastBuy, t)
			e.Purchases++
		}
	}
	out := make([]Entry, 0, len(byItem))
	for _, e := range byItem {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return int(a.Item - b.Item) })
	return out
}

func (d *Dataset) buildItemIndex() {
	n := len(d.ItemIDs)
	d.ItemPtr = make([]int32, n+1)
	for _, e := range d.Entries {
		d.ItemPtr[e.Item+1]++
	}
	for i := range n {
		d.ItemPtr[i+1] += d.ItemPtr[i]
	}
	d.ItemUsers = make([]int32, len(d.Entries))
	d.ItemVals = make([]float32, len(d.Entries))
	next := slices.Clone(d.ItemPtr[:n])
	for u := range d.UserIDs {
		for _, e := range d.User(u) {
			p := next[e.Item]
			d.ItemUsers[p], d.ItemVals[p] = int32(u), e.Weight
			next[e.Item]++
		}
	}
}

// NumUsers and NumItems are the sizes of the dense index.
func (d *Dataset) NumUsers() int { return len(d.UserIDs) }

// NumItems is the number of indexed items (interacted or in the catalog).
func (d *Dataset) NumItems() int { return len(d.ItemIDs) }

// User is user u's history, sorted by item index.
func (d *Dataset) User(u int) []Entry { return d.Entries[d.UserPtr[u]:d.UserPtr[u+1]] }

// UserIndex and ItemIndex map external ids to dense indices.
func (d *Dataset) UserIndex(id int64) (int, bool) {
	i, ok := d.userIdx[id]
	return int(i), ok
}

// ItemIndex maps an item id to its dense index.
func (d *Dataset) ItemIndex(id int64) (int, bool) {
	i, ok := d.itemIdx[id]
	return int(i), ok
}

// reindex rebuilds the id maps after decoding.
func (d *Dataset) reindex() {
	d.userIdx = make(map[int64]int32, len(d.UserIDs))
	d.itemIdx = make(map[int64]int32, len(d.ItemIDs))
	for i, id := range d.UserIDs {
		d.userIdx[id] = int32(i)
	}
	for i, id := range d.ItemIDs {
		d.itemIdx[id] = int32(i)
	}
}

// Profile aggregates a fresh history (e.g. read at request time) against the
// dataset's item index; items unknown to the model are dropped.
func (d *Dataset) Profile(ins []Interaction, w Weighting, ref time.Time) []Entry {
	known := make([]Interaction, 0, len(ins))
	for _, in := range ins {
		if _, ok := d.itemIdx[in.ItemID]; ok {
			known = append(known, in)
		}
	}
	return d.aggregate(known, w, ref)
}

func sortedKeys(m map[int64]bool) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
