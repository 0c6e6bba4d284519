// Package eval measures recommenders offline: temporal splits, P@K, R@K,
// NDCG@K and coverage with full ranking, and a paired bootstrap over users.
package eval

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/shopkit/shop/recommender"
)

// ReadInteractions reads `user,item,rating,timestamp` rows (MovieLens
// ratings.csv; a header line is optional; the timestamp is unix seconds).
// Every row is positive feedback: a Rating interaction of weight 1.
func ReadInteractions(r io.Reader) ([]recommender.Interaction, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var out []recommender.Interaction
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(rec) < 4 {
			return nil, fmt.Errorf("line %d: want user,item,rating,timestamp", line)
		}
		u, err1 := strconv.ParseInt(strings.TrimSpace(rec[0]), 10, 64)
		i, err2 := strconv.ParseInt(strings.TrimSpace(rec[1]), 10, 64)
		ts, err3 := strconv.ParseFloat(strings.TrimSpace(rec[3]), 64)
		if err1 != nil || err2 != nil || err3 != nil {
			if line == 1 {
				continue // header
			}
			return nil, fmt.Errorf("line %d: not user,item,rating,timestamp: %q", line, strings.Join(rec, ","))
		}
		out = append(out, recommender.Interaction{UserID: u, ItemID: i, Kind: recommender.Rating, Weight: 1, At: time.Unix(int64(ts), 0).UTC()})
	}
}

// ReadMovies reads MovieLens movies.csv (movieId,title,genres) as catalog
// items: the title is the name, the genres the description.
func ReadMovies(r io.Reader) ([]recommender.Item, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	var out []recommender.Item
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		id, err := strconv.ParseInt(strings.TrimSpace(rec[0]), 10, 64)
		if err != nil || len(rec) < 3 {
			if line == 1 {
				continue
			}
			return nil, fmt.Errorf("line %d: want movieId,title,genres", line)
		}
		out = append(out, recommender.Item{ID: id, Name: rec[1], Description: strings.ReplaceAll(rec[2], "|", " ")})
	}
}
