package eval

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/shopkit/shop/recommender"
)

// tastes: 300 users in 6 groups, each buying 8 of their group's 12 items
// over time; scrambled gives every user random items instead.
func tastes(scrambled bool) []recommender.Interaction {
	rng := rand.New(rand.NewPCG(3, 3))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ins []recommender.Interaction
	for u := range 300 {
		group := u % 6
		for n, k := range rng.Perm(12)[:8] {
			item := int64(group*12 + k + 1)
			if scrambled {
				item = int64(rng.IntN(72) + 1)
			}
			ins = append(ins, recommender.Interaction{UserID: int64(u + 1), ItemID: item, Kind: recommender.Purchase,
				At: t0.Add(time.Duration(n*24+u) * time.Hour)})
		}
	}
	return ins
}

func judgeConfig() recommender.Config {
	cfg := recommender.DefaultConfig()
	cfg.ALS.Factors, cfg.ALS.Iterations = 8, 5
	cfg.Weighting.HalfLife, cfg.PopularHalfLife = 0, 0
	return cfg
}

func trainOn(t *testing.T, ins []recommender.Interaction) *recommender.Model {
	t.Helper()
	m, err := recommender.Train(ins, nil, judgeConfig())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A candidate that learned the tastes beats popular and a live model that
// learned noise; the same model again is not better than itself.
func TestJudgeNeedsALeadBeyondTheNoise(t *testing.T) {
	h := NewHoldout(tastes(false), UserTemporal, 0, time.Time{})
	if len(h.Users) < 250 {
		t.Fatalf("%d test users", len(h.Users))
	}
	candidate := trainOn(t, h.Train)

	first := Judge(candidate, nil, h, 10, 500, 0.95)
	if !first.Better || first.Live != nil || !first.VsPopular.Better() {
		t.Fatalf("first model: %+v", first)
	}
	noise := trainOn(t, tastes(true))
	v := Judge(candidate, noise, h, 10, 500, 0.95)
	if !v.Better || v.VsLive == nil || v.VsLive.Low <= 0 || v.Candidate.NDCG <= v.Live.NDCG {
		t.Fatalf("against a live model of noise: %+v", v)
	}
	if !strings.Contains(v.Report(), "live hybrid") || !strings.Contains(v.Why, "beats popular") {
		t.Fatalf("report:\n%s", v.Report())
	}

	same := Judge(candidate, candidate, h, 10, 500, 0.95)
	if same.Better || !strings.Contains(same.Why, "does not beat the live model") {
		t.Fatalf("against itself: %+v", same)
	}
	// What a model has seen cannot judge it: with the whole past seen,
	// nothing is left to test on.
	seen := NewHoldout(tastes(false), UserTemporal, 0, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	if len(seen.Users) != 0 || len(seen.Train) != len(tastes(false)) {
		t.Fatalf("%d test users, %d training", len(seen.Users), len(seen.Train))
	}
	if Best([]Verdict{same, v, first}) != 1 && Best([]Verdict{same, v, first}) != 2 {
		t.Fatal("best picks a passing verdict")
	}
	if Best([]Verdict{same}) != -1 {
		t.Fatal("nothing passes")
	}
}
