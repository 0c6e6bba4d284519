package eval

import (
	"fmt"
	"strings"
	"time"

	"github.com/shopkit/shop/recommender"
)

// Holdout is one time split of a snapshot that models are judged on: the
// test users, what each interacted with in test and not in training, and
// each user's training-share history, which every model is queried with.
type Holdout struct {
	Split    Split
	Train    []recommender.Interaction
	Users    []int64
	Relevant map[int64]map[int64]bool
	history  map[int64][]recommender.Interaction
}

// NewHoldout splits ins; at most maxUsers test users are kept (every n-th
// by id, so the choice is deterministic; 0: all). Test interactions at or
// before seenUntil go to training instead: a model trained on data up to
// then (the live one) has seen them, and judging it on them would favour
// it. So the test holds only what no model being compared has seen.
func NewHoldout(ins []recommender.Interaction, split Split, maxUsers int, seenUntil time.Time) *Holdout {
	train, all := split.Apply(ins)
	var test []recommender.Interaction
	for _, in := range all {
		if in.At.After(seenUntil) {
			test = append(test, in)
		} else {
			train = append(train, in)
		}
	}
	users, relevant := TestSet(train, test)
	if maxUsers > 0 && len(users) > maxUsers {
		step := float64(len(users)) / float64(maxUsers)
		picked := make([]int64, maxUsers)
		for k := range picked {
			picked[k] = users[int(float64(k)*step)]
		}
		users = picked
	}
	h := &Holdout{Split: split, Train: train, Users: users, Relevant: relevant, history: map[int64][]recommender.Interaction{}}
	for _, u := range users {
		h.history[u] = nil
	}
	for _, in := range train {
		if hist, ok := h.history[in.UserID]; ok {
			h.history[in.UserID] = append(hist, in)
		}
	}
	return h
}

// Ranker ranks with one algorithm of m, querying it with each user's
// training-share history: a model trained on other data (the live one)
// is judged on the same evidence as the candidate.
func (h *Holdout) Ranker(m *recommender.Model, algorithm string) Ranker {
	return func(u int64, k int) []int64 {
		recs, _ := m.Recommend(recommender.Request{UserID: u, History: h.history[u], Algorithm: algorithm, K: k})
		ids := make([]int64, len(recs))
		for i, r := range recs {
			ids[i] = r.ItemID
		}
		return ids
	}
}

// Evaluate scores one algorithm of m on the holdout.
func (h *Holdout) Evaluate(name string, m *recommender.Model, algorithm string, k int) Result {
	return Evaluate(name, h.Ranker(m, algorithm), h.Users, h.Relevant, m.Data.NumItems(), k)
}

// Scores are an evaluation's means, without the per-user rows.
type Scores struct {
	Name                    string
	Precision, Recall, NDCG float64
	Coverage                float64
	Users                   int
}

func scores(r Result) Scores {
	return Scores{Name: r.Name, Precision: r.Precision, Recall: r.Recall, NDCG: r.NDCG, Coverage: r.Coverage, Users: len(r.Users)}
}

// Verdict is the judgement of a candidate model: its hybrid against the
// live model's hybrid and against its own popular baseline, on one
// holdout, by NDCG@K with a paired bootstrap over users.
type Verdict struct {
	K                      int
	Candidate, Popular     Scores
	Live                   *Scores     // nil: nothing is live yet
	VsLive                 *Comparison // candidate − live
	VsPopular              Comparison  // candidate − popular
	Better                 bool        // beats popular and the live model by more than the noise
	Why                    string
	CandidateAlgorithms    []Scores // every algorithm of the candidate, for the report
	TestUsers, TrainEvents int
}

// Judge evaluates candidate (trained on h.Train) and live (nil when none
// is live) on h. The candidate is better when the interval of its NDCG@K
// lead at level (0.95 for one candidate; 1 − 0.05/n when the best of n is
// picked) is above zero against popular and against live.
func Judge(candidate, live *recommender.Model, h *Holdout, k, resamples int, level float64) Verdict {
	v := Verdict{K: k, TestUsers: len(h.Users), TrainEvents: len(h.Train)}
	ndcg := func(u UserMetrics) float64 { return u.NDCG }
	cand := h.Evaluate("candidate hybrid", candidate, "hybrid", k)
	pop := h.Evaluate("candidate popular", candidate, "popular", k)
	v.Candidate, v.Popular = scores(cand), scores(pop)
	for _, name := range recommender.Algorithms {
		if name != "hybrid" && name != "popular" {
			v.CandidateAlgorithms = append(v.CandidateAlgorithms, scores(h.Evaluate(name, candidate, name, k)))
		}
	}
	v.VsPopular = PairedBootstrapAt(Column(cand.Users, ndcg), Column(pop.Users, ndcg), resamples, 1, level)
	var why []string
	if !v.VsPopular.Better() {
		why = append(why, fmt.Sprintf("does not beat popular by more than the noise (NDCG@%d %.4f vs %.4f, difference %s CI [%+.4f, %+.4f])",
			k, cand.NDCG, pop.NDCG, pct(level), v.VsPopular.Low, v.VsPopular.High))
	}
	if live != nil {
		l := h.Evaluate("live hybrid", live, "hybrid", k)
		ls := scores(l)
		c := PairedBootstrapAt(Column(cand.Users, ndcg), Column(l.Users, ndcg), resamples, 2, level)
		v.Live, v.VsLive = &ls, &c
		if !c.Better() {
			why = append(why, fmt.Sprintf("does not beat the live model by more than the noise (NDCG@%d %.4f vs %.4f, difference %s CI [%+.4f, %+.4f])",
				k, cand.NDCG, l.NDCG, pct(level), c.Low, c.High))
		}
	}
	switch {
	case len(h.Users) == 0:
		v.Why = "no test shoppers: nothing happened since the live model's data that could judge a candidate"
	case len(why) > 0:
		v.Why = "the candidate " + strings.Join(why, " and ")
	default:
		v.Better = true
		v.Why = fmt.Sprintf("the candidate beats popular (NDCG@%d %.4f vs %.4f)", k, cand.NDCG, pop.NDCG)
		if v.Live != nil {
			v.Why += fmt.Sprintf(" and the live model (%.4f; difference %s CI [%+.4f, %+.4f])", v.Live.NDCG, pct(level), v.VsLive.Low, v.VsLive.High)
		}
		v.Why += " by more than the noise"
	}
	return v
}

func pct(level float64) string { return fmt.Sprintf("%.4g%%", 100*level) }

// Report is the verdict as a table for people.
func (v Verdict) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "holdout: %d test users, %d training interactions\n", v.TestUsers, v.TrainEvents)
	fmt.Fprintf(&b, "%-20s %8s %8s %8s %8s\n", "model", "P@"+fmt.Sprint(v.K), "R@"+fmt.Sprint(v.K), "NDCG@"+fmt.Sprint(v.K), "coverage")
	rows := []Scores{v.Candidate}
	if v.Live != nil {
		rows = append(rows, *v.Live)
	}
	rows = append(rows, v.Popular)
	for _, s := range v.CandidateAlgorithms {
		s.Name = "candidate " + s.Name
		rows = append(rows, s)
	}
	for _, s := range rows {
		fmt.Fprintf(&b, "%-20s %8.4f %8.4f %8.4f %8.3f\n", s.Name, s.Precision, s.Recall, s.NDCG, s.Coverage)
	}
	fmt.Fprintf(&b, "verdict: %s\n", v.Why)
	return b.String()
}

// Best picks the better verdict among those that pass, by NDCG; -1 when
// none passes.
func Best(vs []Verdict) int {
	best := -1
	for i, v := range vs {
		if v.Better && (best < 0 || v.Candidate.NDCG > vs[best].Candidate.NDCG) {
			best = i
		}
	}
	return best
}
