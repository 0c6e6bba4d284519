package recommender

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Config holds every training knob; DefaultConfig is a sound start.
type Config struct {
	Weighting          Weighting
	PopularHalfLife    time.Duration // "popular this week": 7 days
	KNNNeighbours      int
	KNNShrink          float64
	KNNLocality        float64 // itemknn similarities are raised to this power (1: plain cosine)
	ContentNeighbours  int
	ALS                ALSConfig
	EASE               EASEConfig
	HybridCandidates   int     // most popular items always scored by the hybrid
	HybridEASEMix      float64 // ease's share of the hybrid's item-to-item component (0: itemknn alone)
	HybridRecency      float64 // the hybrid halves a history item's weight every this many later items (0: off)
	ValidationFraction float64 // per-user latest share held out to learn blend weights and calibration
	ValidationUsers    int     // at most this many validation users (every n-th, deterministic)
	SkipRefit          bool    // keep the components trained without the validation share (halves training time)
	Workers            int     // 0: GOMAXPROCS
	Ref                time.Time
}

// DefaultConfig returns the configuration used by the CLI and the benchmarks.
func DefaultConfig() Config {
	return Config{
		Weighting:          DefaultWeighting(),
		PopularHalfLife:    7 * 24 * time.Hour,
		KNNNeighbours:      100,
		KNNShrink:          10,
		KNNLocality:        2,
		ContentNeighbours:  50,
		ALS:                ALSConfig{Factors: 32, Iterations: 10, CGSteps: 3, Lambda: 5, Alpha: 5, Seed: 1},
		EASE:               EASEConfig{Items: 2000, Lambda: 10, Neighbours: 100},
		HybridCandidates:   200,
		HybridEASEMix:      0.5,
		HybridRecency:      5,
		ValidationFraction: 0.1,
		ValidationUsers:    2000,
	}
}

// Version describes a trained model.
type Version struct {
	TrainedAt    time.Time
	Users, Items int
	Interactions int
	Metrics      map[string]float64 // validation NDCG@10 per algorithm
	Config       Config
}

// Model is every algorithm trained on one dataset, with the hybrid's blend
// weights and a confidence calibration per algorithm. It is safe for
// concurrent Recommend calls.
type Model struct {
	Version     Version
	Data        *Dataset
	Popular     *Popular
	KNN         *ItemKNN
	ALS         *ALS
	Content     *Content
	EASE        *EASE
	BuyAgain    *BuyAgain
	Hybrid      *Hybrid
	Calibration map[string]*Calibrator

	scorers  map[string]Scorer
	buffers  freeList[[]float64]
	popOrder []int32 // items by popularity, for cold starts and "popular"
}

// Algorithms are the names Recommend accepts, hybrid first.
var Algorithms = []string{"hybrid", "popular", "itemknn", "als", "content", "ease", "buy_again"}

// Blend is what training learns on the validation share: the hybrid's
// weights, the calibration per algorithm and the validation NDCG@10. It is
// small, so a long training job can checkpoint it and resume with Fit.
type Blend struct {
	Weights     [4]float64
	Calibration map[string]*Calibrator
	Metrics     map[string]float64
}

// Train fits every algorithm. When cfg.ValidationFraction > 0 the latest
// share of each user's interactions is held out to learn the hybrid weights
// and the calibration (LearnBlend); the components are then refitted on
// everything (Fit).
func Train(ins []Interaction, catalog []Item, cfg Config) (*Model, error) {
	if len(ins) == 0 && len(catalog) == 0 {
		return nil, errors.New("recommender: nothing to train on")
	}
	cfg = cfg.withRef(ins)
	if cfg.ValidationFraction > 0 && cfg.SkipRefit {
		m, b := learn(ins, catalog, cfg)
		m.Calibration, m.Version.Metrics = b.Calibration, b.Metrics
		return m, nil
	}
	b, err := LearnBlend(ins, catalog, cfg)
	if err != nil {
		return nil, err
	}
	return Fit(ins, catalog, cfg, b)
}

// LearnBlend learns the blend on the validation share of ins; without a
// validation share the weights are equal and nothing is calibrated.
func LearnBlend(ins []Interaction, catalog []Item, cfg Config) (Blend, error) {
	if len(ins) == 0 && len(catalog) == 0 {
		return Blend{}, errors.New("recommender: nothing to train on")
	}
	_, b := learn(ins, catalog, cfg.withRef(ins))
	return b, nil
}

func learn(ins []Interaction, catalog []Item, cfg Config) (*Model, Blend) {
	b := Blend{Weights: [4]float64{1, 1, 1, 1}, Metrics: map[string]float64{}}
	if cfg.ValidationFraction <= 0 {
		return nil, b
	}
	fit, val := SplitUserTemporal(ins, cfg.ValidationFraction)
	m := fit1(fit, catalog, cfg, b.Weights)
	b.Weights = m.learnWeights(val, cfg.ValidationUsers)
	m.Hybrid.Weights = b.Weights
	b.Calibration, b.Metrics = m.calibrate(val, cfg.ValidationUsers)
	return m, b
}

// Fit trains every algorithm on all of ins with a learned blend.
func Fit(ins []Interaction, catalog []Item, cfg Config, b Blend) (*Model, error) {
	if len(ins) == 0 && len(catalog) == 0 {
		return nil, errors.New("recommender: nothing to train on")
	}
	m := fit1(ins, catalog, cfg.withRef(ins), b.Weights)
	m.Calibration, m.Version.Metrics = b.Calibration, b.Metrics
	return m, nil
}

// withRef dates the model at its latest interaction unless Ref is set.
func (c Config) withRef(ins []Interaction) Config {
	if c.Ref.IsZero() {
		for _, in := range ins {
			if in.At.After(c.Ref) {
				c.Ref = in.At
			}
		}
	}
	return c
}

func fit1(ins []Interaction, catalog []Item, cfg Config, weights [4]float64) *Model {
	d := NewDataset(ins, catalog, cfg.Weighting, cfg.Ref)
	m := &Model{Data: d, Version: Version{
		TrainedAt: time.Now().UTC(), Users: d.NumUsers(), Items: d.NumItems(), Interactions: len(ins), Config: cfg,
	}}
	m.Popular = NewPopular(d, ins, cfg.Weighting, cfg.PopularHalfLife)
	m.KNN = NewItemKNN(d, cfg.KNNNeighbours, cfg.KNNShrink, max(cfg.KNNLocality, 1), cfg.Workers)
	m.ALS = NewALS(d, cfg.ALS, cfg.Workers)
	m.Content = NewContent(d, cfg.ContentNeighbours, cfg.Workers)
	m.EASE = NewEASE(d, cfg.EASE, cfg.Workers)
	m.BuyAgain = NewBuyAgain(d)
	m.Hybrid = &Hybrid{Weights: weights, EASEMix: cfg.HybridEASEMix, Recency: cfg.HybridRecency, Cold: make([]bool, d.NumItems())}
	for i := range m.Hybrid.Cold {
		m.Hybrid.Cold[i] = d.ItemPtr[i] == d.ItemPtr[i+1]
	}
	m.Hybrid.Candidates = topN(float64s(m.Popular.Scores), m.Popular.Scores, cfg.HybridCandidates, nil)
	m.link()
	return m
}

// link wires the scorers together after training or loading.
func (m *Model) link() {
	if m.EASE == nil || len(m.EASE.N.Ptr) != m.Data.NumItems()+1 {
		m.EASE = &EASE{N: neighbours{Ptr: make([]int32, m.Data.NumItems()+1)}} // none fitted
	}
	m.Hybrid.link(m.Popular, m.KNN, m.ALS, m.Content, m.EASE)
	m.scorers = map[string]Scorer{}
	for _, s := range []Scorer{m.Hybrid, m.Popular, m.KNN, m.ALS, m.Content, m.EASE, m.BuyAgain} {
		m.scorers[s.Name()] = s
	}
	n := m.Data.NumItems()
	m.buffers.init(func() *[]float64 { b := make([]float64, n); return &b })
	m.popOrder = popularOrder(m.Popular.Scores)
}

func float64s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// Request asks for recommendations for one user.
type Request struct {
	UserID    int64
	History   []Interaction // the user's current history; nil: the one the model was trained on
	Algorithm string        // one of Algorithms; "" means hybrid
	K         int
	// Exclude and Categories filter by item and category id; PerCategoryCap
	// (0: none) bounds how many results one category may take.
	Exclude        []int64
	Categories     []int64
	PerCategoryCap int
	Now            time.Time // for buy_again; zero: the model's reference time
}

// Recommendation is one recommended item with its evidence.
type Recommendation struct {
	ItemID     int64
	Score      float64 // the algorithm's raw score; comparable within one response
	Confidence float64 // calibrated probability that the user will interact, in [0, 1]
	Reason     Reason
}

// Reason is the human reason behind a recommendation.
type Reason struct {
	Kind       string // because_you, similar_content, popular, buy_again
	Source     string // the algorithm the evidence comes from
	ItemID     int64  // the item of the user's history behind it (0: none)
	CategoryID int64  // the recommended item's category (for "popular in <category>")
	Text       string
}

// ErrUnknownAlgorithm is returned for a Request.Algorithm not in Algorithms.
var ErrUnknownAlgorithm = errors.New("recommender: unknown algorithm")

// query resolves the user's history for a request.
func (m *Model) query(req *Request) *Query {
	u, known := m.Data.UserIndex(req.UserID)
	q := &Query{User: -1, Now: req.Now.Unix()}
	if req.Now.IsZero() {
		q.Now = m.Data.Ref.Unix()
	}
	if known {
		q.User = u
	}
	switch {
	case req.History != nil:
		q.History = m.Data.Profile(req.History, m.Version.Config.Weighting, m.Data.Ref)
		q.Fresh = true
	case known:
		q.History = m.Data.User(u)
	}
	return q
}

// Recommend answers the top-K items for a user: the user's own items are
// excluded (except repeatable ones for buy_again), then Exclude, Categories
// and PerCategoryCap apply. A user without history gets popular items.
func (m *Model) Recommend(req Request) ([]Recommendation, error) {
	if req.Algorithm == "" {
		req.Algorithm = "hybrid"
	}
	s, ok := m.scorers[req.Algorithm]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownAlgorithm, req.Algorithm)
	}
	if req.K <= 0 {
		return nil, nil
	}
	q := m.query(&req)
	if len(q.History) == 0 && req.Algorithm != "buy_again" {
		s = m.Popular // cold start
	}
	var keep func(int32) bool
	if len(req.Categories) > 0 {
		keep = func(i int32) bool { return slices.Contains(req.Categories, m.Data.Items[i].CategoryID) }
	}
	var items []int32
	var score func(k int) float64
	switch s {
	case Scorer(m.Hybrid):
		// The hybrid ranks only its candidates: nothing here is catalog-sized.
		f := m.Hybrid.feats.get()
		defer m.Hybrid.feats.put(f)
		m.Hybrid.featuresInto(q, f, m.excludeIndices(req.Exclude))
		q.hybrid = f
		f.score = grow(f.score, len(f.cand))
		for k := range f.cand {
			f.score[k] = m.Hybrid.blend(f, k, m.Hybrid.Weights)
		}
		f.heap = grow(f.heap, len(f.cand))
		pos := m.pickCandidates(f.cand, f.score, req.K, req.PerCategoryCap, func(n int) bool {
			return !f.skip[n] && (keep == nil || keep(f.cand[n]))
		}, f.heap)
		items = make([]int32, len(pos))
		for k, p := range pos {
			items[k] = f.cand[p]
		}
		score = func(k int) float64 { return f.score[pos[k]] }
	case Scorer(m.Popular):
		items = m.walkPopular(m.excluded(q, &req), req.K, req.PerCategoryCap, keep)
		score = func(k int) float64 { return float64(m.Popular.Scores[items[k]]) }
	default:
		buf := m.buffers.get()
		scores := *buf
		defer func() { clear(scores); m.buffers.put(buf) }()
		s.Score(q, scores)
		for _, e := range q.History {
			if !(s == Scorer(m.BuyAgain) && m.Data.Items[e.Item].Repeatable) {
				scores[e.Item] = math.Inf(-1)
			}
		}
		for _, id := range req.Exclude {
			if i, ok := m.Data.ItemIndex(id); ok {
				scores[i] = math.Inf(-1)
			}
		}
		var keepInt func(int) bool
		if keep != nil {
			keepInt = func(i int) bool { return keep(int32(i)) }
		}
		items = m.selectTop(scores, req.K, req.PerCategoryCap, keepInt)
		score = func(k int) float64 { return scores[items[k]] }
	}
	out := make([]Recommendation, len(items))
	calib := m.Calibration[s.Name()]
	for k, i := range items {
		sc := score(k)
		out[k] = Recommendation{
			ItemID:     m.Data.ItemIDs[i],
			Score:      sc,
			Confidence: calib.Predict(sc),
			Reason:     m.reason(s.Explain(q, int(i)), q, int(i)),
		}
	}
	return out, nil
}

// selectTop takes the best k items, at most perCat per category.
func (m *Model) selectTop(scores []float64, k, perCat int, keep func(int) bool) []int32 {
	if perCat <= 0 {
		return topN(scores, m.Popular.Scores, k, keep)
	}
	for n := 3 * k; ; n *= 4 {
		top := topN(scores, m.Popular.Scores, n, keep)
		var out []int32
		var caps capCounter
		for _, i := range top {
			if caps.take(m.Data.Items[i].CategoryID, perCat) {
				out = append(out, i)
				if len(out) == k {
					return out
				}
			}
		}
		if len(top) < n {
			return out
		}
	}
}

func (m *Model) reason(ev Evidence, q *Query, item int) Reason {
	it := m.Data.Items[item]
	r := Reason{Kind: ev.Kind, Source: ev.Source, CategoryID: it.CategoryID}
	name := func(i int) string {
		if n := m.Data.Items[i].Name; n != "" {
			return n
		}
		return fmt.Sprintf("item %d", m.Data.ItemIDs[i])
	}
	if ev.Item >= 0 {
		r.ItemID = m.Data.ItemIDs[ev.Item]
	}
	switch {
	case ev.Kind == "popular" && it.Category != "":
		r.Text = fmt.Sprintf("popular in %s this week", it.Category)
	case ev.Kind == "popular" && it.CategoryID != 0:
		r.Text = fmt.Sprintf("popular in category %d this week", it.CategoryID)
	case ev.Kind == "popular":
		r.Text = "popular this week"
	case ev.Kind == "buy_again":
		r.Text = fmt.Sprintf("time to buy %s again", name(item))
	case ev.Item < 0:
		r.Kind, r.Text = "popular", "popular this week"
	default:
		verb := "looked at"
		for _, e := range q.History {
			if int(e.Item) == ev.Item && e.Purchases > 0 {
				verb = "bought"
			}
		}
		r.Text = fmt.Sprintf("because you %s %s", verb, name(ev.Item))
	}
	return r
}

// AlsoBought are the item's nearest itemknn neighbours (for a product page).
func (m *Model) AlsoBought(itemID int64, k int) []Recommendation {
	i, ok := m.Data.ItemIndex(itemID)
	if !ok {
		return nil
	}
	idx, sim := m.KNN.N.row(i)
	scores := make([]float64, len(idx))
	for n, s := range sim {
		scores[n] = float64(s)
	}
	pop := make([]float32, len(idx))
	for n, j := range idx {
		pop[n] = m.Popular.Scores[j]
	}
	out := []Recommendation{}
	for _, n := range topN(scores, pop, k, nil) {
		out = append(out, Recommendation{
			ItemID: m.Data.ItemIDs[idx[n]], Score: scores[n],
			Reason: Reason{Kind: "also_bought", Source: "itemknn", ItemID: itemID, Text: "bought together with " + m.Data.Items[i].Name},
		})
	}
	return out
}
