package eval

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/shopkit/shop/recommender"
)

func TestMetricsHandComputed(t *testing.T) {
	// Hits at ranks 1 and 3 of 3 relevant items, k = 3:
	// DCG = 1 + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3) + 1/2 = 2.1309.
	p, r, ndcg := Metrics([]int64{7, 8, 9}, map[int64]bool{7: true, 9: true, 42: true}, 3)
	if math.Abs(p-2.0/3) > 1e-12 || math.Abs(r-2.0/3) > 1e-12 {
		t.Fatalf("P %v R %v, want 2/3 both", p, r)
	}
	want := 1.5 / (1 + 1/math.Log2(3) + 0.5)
	if math.Abs(ndcg-want) > 1e-12 {
		t.Fatalf("NDCG %v, want %v", ndcg, want)
	}
	if _, _, nd := Metrics([]int64{1, 2}, map[int64]bool{2: true}, 10); math.Abs(nd-1/math.Log2(3)) > 1e-12 {
		t.Fatalf("one relevant at rank 2: NDCG %v", nd)
	}
}

func TestPairedBootstrap(t *testing.T) {
	a := make([]float64, 300)
	b := make([]float64, 300)
	for i := range a {
		a[i] = float64(i%7) / 7
		b[i] = a[i]
	}
	same := PairedBootstrap(a, b, 1000, 1)
	if same.Better() || same.P < 0.5 || same.MeanDiff != 0 {
		t.Fatalf("identical models: %+v, want no difference", same)
	}
	better := make([]float64, len(a))
	for i := range a {
		better[i] = a[i] + 0.05 + 0.02*float64(i%3-1)
	}
	c := PairedBootstrap(better, b, 1000, 1)
	if !c.Better() || c.P > 0.01 || c.Low <= 0 {
		t.Fatalf("clearly better: %+v", c)
	}
	// Noise around zero is not "better".
	noisy := make([]float64, len(a))
	for i := range a {
		noisy[i] = a[i] + 0.1*float64(i%2*2-1)
	}
	if n := PairedBootstrap(noisy, b, 1000, 1); n.Better() || n.P < 0.05 {
		t.Fatalf("noise: %+v", n)
	}
}

func TestSplits(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ins []recommender.Interaction
	for u := int64(1); u <= 2; u++ {
		for d := range 10 {
			ins = append(ins, recommender.Interaction{UserID: u, ItemID: int64(d), At: t0.Add(time.Duration(d+int(u)*100) * time.Hour)})
		}
	}
	train, test := UserTemporal.Apply(ins)
	if len(train) != 16 || len(test) != 4 {
		t.Fatalf("user-temporal: %d train, %d test", len(train), len(test))
	}
	for _, in := range test {
		if in.ItemID < 8 {
			t.Fatalf("user-temporal put an early interaction in test: %+v", in)
		}
	}
	train, test = GlobalTemporal.Apply(ins)
	if len(train) != 16 || len(test) != 4 || test[0].UserID != 2 {
		t.Fatalf("global-temporal: %d train, %d test (%+v)", len(train), len(test), test)
	}
}

func TestReadInteractions(t *testing.T) {
	ins, err := ReadInteractions(strings.NewReader("userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n2,7,4,1260759145\n"))
	if err != nil || len(ins) != 2 || ins[0].UserID != 1 || ins[0].ItemID != 31 || ins[1].At.Unix() != 1260759145 {
		t.Fatalf("%+v %v", ins, err)
	}
	if ins, err := ReadInteractions(strings.NewReader("1,31,2.5,1260759144\n")); err != nil || len(ins) != 1 {
		t.Fatalf("headerless: %+v %v", ins, err)
	}
	if _, err := ReadInteractions(strings.NewReader("1,2,3,4\nx,y,z,w\n")); err == nil {
		t.Fatal("a bad row after the first is an error")
	}
}
