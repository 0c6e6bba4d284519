package recommender

import (
	"math"
	"runtime"
	"slices"
)

// validationUsers groups held-out items by known user (at most limit users,
// every n-th by id so the choice is deterministic), dropping items the user
// already has in training.
func (m *Model) validationUsers(val []Interaction, limit int) (users []int, relevant []map[int32]bool) {
	byUser := map[int]map[int32]bool{}
	for _, in := range val {
		u, ok := m.Data.UserIndex(in.UserID)
		i, iok := m.Data.ItemIndex(in.ItemID)
		if !ok || !iok {
			if ok {
				if byUser[u] == nil {
					byUser[u] = map[int32]bool{}
				}
				byUser[u][-1-int32(len(byUser[u]))] = true // relevant but unknown to the model
			}
			continue
		}
		if _, owned := slices.BinarySearchFunc(m.Data.User(u), int32(i), func(e Entry, t int32) int { return int(e.Item - t) }); owned {
			continue
		}
		if byUser[u] == nil {
			byUser[u] = map[int32]bool{}
		}
		byUser[u][int32(i)] = true
	}
	for u := range byUser {
		users = append(users, u)
	}
	slices.Sort(users)
	if limit > 0 && len(users) > limit {
		step := float64(len(users)) / float64(limit)
		picked := make([]int, limit)
		for k := range picked {
			picked[k] = users[int(float64(k)*step)]
		}
		users = picked
	}
	for _, u := range users {
		relevant = append(relevant, byUser[u])
	}
	return users, relevant
}

// ndcg is binary-relevance NDCG of a ranking against nrel relevant items.
func ndcg(ranking []int32, rel map[int32]bool, k int) float64 {
	dcg, idcg := 0.0, 0.0
	for r, i := range ranking[:min(k, len(ranking))] {
		if rel[i] {
			dcg += 1 / math.Log2(float64(r+2))
		}
	}
	for r := range min(k, len(rel)) {
		idcg += 1 / math.Log2(float64(r+2))
	}
	if idcg == 0 {
		return 0
	}
	return dcg / idcg
}

// weightGrid is what coordinate ascent tries for each blend weight.
var weightGrid = []float64{0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2, 3, 5}

// learnWeights fits the hybrid's blend by coordinate ascent on NDCG@10 over
// the validation users; component scores are computed once per user.
func (m *Model) learnWeights(val []Interaction, limit int) [4]float64 {
	users, relevant := m.validationUsers(val, limit)
	feats := make([]*features, len(users))
	parallel(len(users), m.Version.Config.Workers, func(_, k int) {
		u := users[k]
		f := m.Hybrid.features(&Query{User: u, History: m.Data.User(u)})
		// Drop owned items from the candidates once, as Recommend would.
		owned := map[int32]bool{}
		for _, e := range m.Data.User(u) {
			owned[e.Item] = true
		}
		keep := 0
		for n, i := range f.cand {
			if !owned[i] {
				f.cand[keep] = i
				for c := range f.comps {
					f.comps[c][keep] = f.comps[c][n]
				}
				keep++
			}
		}
		f.cand = f.cand[:keep]
		for c := range f.comps {
			f.comps[c] = f.comps[c][:keep]
		}
		feats[k] = f
	})
	// Users are scored in parallel, each worker with its own buffers; the
	// sum runs in user order, so the learned weights do not depend on the
	// number of cores.
	workers := m.Version.Config.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	type scratch struct {
		s   []float64
		pop []float32
	}
	bufs := make([]scratch, workers)
	nd := make([]float64, len(feats))
	score := func(w [4]float64) float64 {
		parallel(len(feats), workers, func(wk, k int) {
			f, b := feats[k], &bufs[wk]
			b.s, b.pop = b.s[:0], b.pop[:0]
			for n := range f.cand {
				b.s = append(b.s, m.Hybrid.blend(f, n, w))
				b.pop = append(b.pop, m.Popular.Scores[f.cand[n]])
			}
			top := topN(b.s, b.pop, 10, nil)
			ranking := make([]int32, len(top))
			for r, n := range top {
				ranking[r] = f.cand[n]
			}
			nd[k] = ndcg(ranking, relevant[k], 10)
		})
		total := 0.0
		for _, x := range nd {
			total += x
		}
		return total
	}
	w := [4]float64{1, 1, 1, 1}
	best := score(w)
	for range 3 {
		improved := false
		for c := range w {
			for _, v := range weightGrid {
				if v == w[c] {
					continue
				}
				t := w
				t[c] = v
				if s := score(t); s > best+1e-12 {
					best, w, improved = s, t, true
				}
			}
		}
		if !improved {
			break
		}
	}
	return w
}

// calibrate fits each algorithm's confidence on its top-10 validation
// recommendations (hit or not) and reports its validation NDCG@10.
func (m *Model) calibrate(val []Interaction, limit int) (map[string]*Calibrator, map[string]float64) {
	users, relevant := m.validationUsers(val, limit)
	calib, metrics := map[string]*Calibrator{}, map[string]float64{}
	for _, name := range Algorithms {
		type obs struct{ scores, hits []float64 }
		per := make([]obs, len(users))
		nd := make([]float64, len(users))
		parallel(len(users), m.Version.Config.Workers, func(_, k int) {
			recs, _ := m.Recommend(Request{UserID: m.Data.UserIDs[users[k]], Algorithm: name, K: 10})
			ranking := make([]int32, len(recs))
			for r, rec := range recs {
				i, _ := m.Data.ItemIndex(rec.ItemID)
				ranking[r] = int32(i)
				hit := 0.0
				if relevant[k][int32(i)] {
					hit = 1
				}
				per[k].scores = append(per[k].scores, rec.Score)
				per[k].hits = append(per[k].hits, hit)
			}
			nd[k] = ndcg(ranking, relevant[k], 10)
		})
		var scores, hits []float64
		sum := 0.0
		for k := range per {
			scores, hits = append(scores, per[k].scores...), append(hits, per[k].hits...)
			sum += nd[k]
		}
		calib[name] = FitCalibrator(scores, hits)
		if len(users) > 0 {
			metrics[name] = sum / float64(len(users))
		}
	}
	return calib, metrics
}
