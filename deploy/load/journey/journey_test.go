package journey

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMixPicksInProportion(t *testing.T) {
	m := DefaultMix(&Env{})
	r := rand.New(rand.NewPCG(7, 7))
	counts := map[string]int{}
	const n = 100_000
	for range n {
		counts[m.Pick(r).Name]++
	}
	for _, s := range m {
		got := float64(counts[s.Name]) / n * 100
		assert.InDelta(t, float64(s.Weight), got, 0.7, "%s: %.2f %%", s.Name, got)
	}
}

func TestTypoChangesOneLetterButNotTheFirst(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for range 200 {
		typo := Typo("headphones", r)
		assert.NotEqual(t, "headphones", typo)
		assert.Equal(t, byte('h'), typo[0])
		assert.GreaterOrEqual(t, len(typo), len("headphones")-1)
	}
	assert.Equal(t, "ab", Typo("ab", r))
}

func TestQueriesComeFromTheCatalog(t *testing.T) {
	qs := Queries([]Product{{Name: "Nordvik Titan 16 Gaming Laptop", Brand: "Nordvik"}}, rand.New(rand.NewPCG(3, 3)))
	assert.Contains(t, qs, "laptop")
	assert.Contains(t, qs, "gaming laptop")
	assert.Contains(t, qs, "nordvik")
	assert.NotContains(t, qs, "16", "short words make poor queries")
}

func TestIntReadsStringsAndNumbers(t *testing.T) {
	var o Order
	require.NoError(t, json.Unmarshal([]byte(`{"id":"1000","totals":{"total":{"amount_minor":"279999","currency":"USD"}}}`), &o))
	assert.Equal(t, Int(1000), o.ID)
	assert.Equal(t, Int(279999), o.Totals.Total.AmountMinor)
	require.NoError(t, json.Unmarshal([]byte(`{"id":12}`), &o))
	assert.Equal(t, Int(12), o.ID)
}

func TestCallOutcome(t *testing.T) {
	assert.Equal(t, OK, Call{Status: http.StatusOK}.Outcome())
	assert.Equal(t, RateLimited, Call{Status: http.StatusTooManyRequests, Err: &StatusError{Status: 429}}.Outcome())
	assert.Equal(t, Failed, Call{Status: http.StatusServiceUnavailable, Err: &StatusError{Status: 503}}.Outcome())
	assert.Equal(t, Failed, Call{}.Outcome(), "no answer at all")
	assert.True(t, IsRateLimited(&StatusError{Status: 429}))
}
