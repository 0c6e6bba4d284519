package eval

import (
	"math"
	"slices"
	"time"

	"github.com/shopkit/shop/recommender"
)

// Split names a train/test split.
type Split string

// The splits.
const (
	UserTemporal   Split = "user-temporal"   // per user, the latest 20 % of their interactions
	GlobalTemporal Split = "global-temporal" // everything after the time by which 80 % happened
)

// Apply splits interactions; the test share is 20 %.
func (s Split) Apply(ins []recommender.Interaction) (train, test []recommender.Interaction) {
	if s == GlobalTemporal {
		return recommender.SplitGlobalTemporal(ins, recommender.TemporalCutoff(ins, 0.8))
	}
	return recommender.SplitUserTemporal(ins, 0.2)
}

// UserMetrics are one test user's scores.
type UserMetrics struct {
	UserID                  int64
	Precision, Recall, NDCG float64
}

// Result is one algorithm's evaluation.
type Result struct {
	Name                    string
	K                       int
	Precision, Recall, NDCG float64 // means over test users
	Coverage                float64 // share of the catalog recommended to anyone
	Users                   []UserMetrics
	Elapsed                 time.Duration
}

// Metrics scores a ranking (item ids, best first) against the relevant
// set: binary relevance, cut at k.
func Metrics(ranking []int64, relevant map[int64]bool, k int) (p, r, ndcg float64) {
	if len(relevant) == 0 {
		return 0, 0, 0
	}
	hits, dcg, idcg := 0, 0.0, 0.0
	for i, id := range ranking[:min(k, len(ranking))] {
		if relevant[id] {
			hits++
			dcg += 1 / math.Log2(float64(i+2))
		}
	}
	for i := range min(k, len(relevant)) {
		idcg += 1 / math.Log2(float64(i+2))
	}
	return float64(hits) / float64(k), float64(hits) / float64(len(relevant)), dcg / idcg
}

// TestSet is, per test user with training history, the items they
// interacted with in test and not in training.
func TestSet(train, test []recommender.Interaction) (users []int64, relevant map[int64]map[int64]bool) {
	seen := map[int64]map[int64]bool{}
	for _, in := range train {
		if seen[in.UserID] == nil {
			seen[in.UserID] = map[int64]bool{}
		}
		seen[in.UserID][in.ItemID] = true
	}
	relevant = map[int64]map[int64]bool{}
	for _, in := range test {
		if seen[in.UserID] == nil || seen[in.UserID][in.ItemID] {
			continue
		}
		if relevant[in.UserID] == nil {
			relevant[in.UserID] = map[int64]bool{}
			users = append(users, in.UserID)
		}
		relevant[in.UserID][in.ItemID] = true
	}
	slices.Sort(users)
	return users, relevant
}

// Ranker answers the top-k item ids for a user (items seen in training
// already excluded).
type Ranker func(userID int64, k int) []int64

// Evaluate ranks for every test user and averages the metrics.
func Evaluate(name string, rank Ranker, users []int64, relevant map[int64]map[int64]bool, catalog, k int) Result {
	start := time.Now()
	res := Result{Name: name, K: k, Users: make([]UserMetrics, len(users))}
	recommended := map[int64]bool{}
	for n, u := range users {
		ranking := rank(u, k)
		for _, id := range ranking {
			recommended[id] = true
		}
		p, r, nd := Metrics(ranking, relevant[u], k)
		res.Users[n] = UserMetrics{u, p, r, nd}
		res.Precision += p
		res.Recall += r
		res.NDCG += nd
	}
	if len(users) > 0 {
		res.Precision /= float64(len(users))
		res.Recall /= float64(len(users))
		res.NDCG /= float64(len(users))
	}
	if catalog > 0 {
		res.Coverage = float64(len(recommended)) / float64(catalog)
	}
	res.Elapsed = time.Since(start)
	return res
}

// ModelRanker ranks with one algorithm of a trained model.
func ModelRanker(m *recommender.Model, algorithm string) Ranker {
	return func(u int64, k int) []int64 {
		recs, _ := m.Recommend(recommender.Request{UserID: u, Algorithm: algorithm, K: k})
		ids := make([]int64, len(recs))
		for i, r := range recs {
			ids[i] = r.ItemID
		}
		return ids
	}
}
