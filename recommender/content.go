package recommender

import (
	"math"
	"strconv"
	"strings"
	"unicode"
)

// Content scores items by TF-IDF cosine (name, description, brand and
// category tokens) to the user's items. The user profile is the weighted sum
// of their items' vectors; profile·item equals Σ_h w_h·cos(h, item), computed
// over each item's top-N content neighbours so that serving stays sparse.
// Items without interactions are neighbours too: that is how new items reach users.
type Content struct {
	N neighbours
}

// maxPosting bounds the cost of the neighbour search: a term shared by more
// items than this carries little IDF and would make the search quadratic.
const maxPosting = 2000

var stopWords = map[string]bool{"the": true, "and": true, "for": true, "with": true, "of": true, "a": true, "an": true, "in": true, "to": true, "on": true, "by": true, "is": true}

// tokens lowercases and splits on anything but letters and digits.
func tokens(s string) []string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	out := f[:0]
	for _, t := range f {
		if len(t) > 1 && !stopWords[t] {
			out = append(out, t)
		}
	}
	return out
}

func itemTerms(it Item) []string {
	t := append(tokens(it.Name), tokens(it.Description)...)
	if it.Brand != "" {
		t = append(t, "brand:"+strings.ToLower(it.Brand))
	}
	if it.CategoryID != 0 {
		t = append(t, "cat:"+strconv.FormatInt(it.CategoryID, 10))
	}
	return t
}

// NewContent builds TF-IDF vectors of the dataset's items and their top-n neighbours.
func NewContent(d *Dataset, n, workers int) *Content {
	ni := d.NumItems()
	vocab := map[string]int32{}
	type tf struct {
		t int32
		v float64
	}
	docs := make([][]tf, ni)
	var df []int
	for i, it := range d.Items {
		counts := map[int32]float64{}
		for _, s := range itemTerms(it) {
			t, ok := vocab[s]
			if !ok {
				t = int32(len(vocab))
				vocab[s] = t
				df = append(df, 0)
			}
			counts[t]++
		}
		for t, c := range counts {
			df[t]++
			docs[i] = append(docs[i], tf{t, c})
		}
	}
	// Weight, L2-normalise, and index postings of informative terms.
	postings := make([][]int32, len(df))
	vals := make([][]float32, len(df))
	for i, doc := range docs {
		norm := 0.0
		for k := range doc {
			doc[k].v = (1 + math.Log(doc[k].v)) * math.Log(float64(ni)/float64(df[doc[k].t]))
			norm += doc[k].v * doc[k].v
		}
		norm = math.Sqrt(norm)
		for _, e := range doc {
			if norm > 0 && e.v > 0 && df[e.t] <= maxPosting {
				postings[e.t] = append(postings[e.t], int32(i))
				vals[e.t] = append(vals[e.t], float32(e.v/norm))
			}
		}
	}
	itemTermsIdx := make([][]tf, ni)
	for t := range postings {
		for k, i := range postings[t] {
			itemTermsIdx[i] = append(itemTermsIdx[i], tf{int32(t), float64(vals[t][k])})
		}
	}
	if workers <= 0 {
		workers = 2
	}
	acc := make([][]float64, workers)
	for w := range acc {
		acc[w] = make([]float64, ni)
	}
	rows := make([][]int32, ni)
	sims := make([][]float32, ni)
	parallel(ni, workers, func(w, i int) {
		a := acc[w]
		var touched []int32
		for _, e := range itemTermsIdx[i] {
			for k, j := range postings[e.t] {
				if a[j] == 0 {
					touched = append(touched, j)
				}
				a[j] += e.v * float64(vals[e.t][k])
			}
		}
		cand := make([]int32, 0, len(touched))
		s := make([]float32, 0, len(touched))
		for _, j := range touched {
			if int(j) != i && a[j] > 0 {
				cand = append(cand, j)
				s = append(s, float32(a[j]))
			}
			a[j] = 0
		}
		rows[i], sims[i] = topRow(cand, s, n)
	})
	return &Content{N: pack(rows, sims)}
}

// Name implements Scorer.
func (c *Content) Name() string { return "content" }

// Score implements Scorer.
func (c *Content) Score(q *Query, out []float64) { c.N.accumulate(q.History, out) }

// Explain implements Scorer.
func (c *Content) Explain(q *Query, item int) Evidence {
	return Evidence{Kind: "similar_content", Item: c.N.strongest(q.History, item), Source: c.Name()}
}
