package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/shopkit/shop/recommender"
	"github.com/shopkit/shop/recommender/eval"
)

func main() {
	f, _ := os.Open("/work/wt-reco/.data/movielens/ratings.csv")
	ins, err := eval.ReadInteractions(f)
	if err != nil {
		panic(err)
	}
	g, _ := os.Open("/work/wt-reco/.data/movielens/movies.csv")
	cat, _ := eval.ReadMovies(g)
	cfg := recommender.DefaultConfig()
	cfg.Weighting.HalfLife, cfg.PopularHalfLife = 0, 0
	num := func(i int, d float64) float64 {
		if len(os.Args) > i {
			v, _ := strconv.ParseFloat(os.Args[i], 64)
			return v
		}
		return d
	}
	cfg.KNNNeighbours = int(num(1, 100))
	cfg.KNNShrink = num(2, 10)
	cfg.ALS.Lambda = num(3, 1)
	cfg.ALS.Alpha = num(4, 10)
	cfg.ALS.Iterations = int(num(5, 10))
	t := time.Now()
	rep, err := eval.Run(ins, cat, eval.UserTemporal, 10, cfg)
	if err != nil {
		panic(err)
	}
	rep.Print(os.Stdout)
	fmt.Println(time.Since(t), rep.Model.Version.Metrics)
}
