package analytics

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strconv"
)

// CSV writes the answer's rows as CSV, one line per row: key, label, then
// each metric asked for in order; a money metric has a column per currency
// of the answer (total_sales_USD, total_sales_EUR) in minor units, rates
// are fractions (0.25).
func (a Answer) CSV() []byte {
	var currencies []string
	for _, r := range a.Rows {
		for _, s := range r.Sales {
			if !slices.Contains(currencies, s.Currency) {
				currencies = append(currencies, s.Currency)
			}
		}
	}
	slices.Sort(currencies)
	head := []string{"key", "label"}
	for _, m := range a.Query.Metrics {
		if m.IsMoney() {
			for _, c := range currencies {
				head = append(head, string(m)+"_"+c)
			}
			continue
		}
		head = append(head, string(m))
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(head)
	for _, r := range a.Rows {
		line := []string{r.Key, r.Label}
		for _, m := range a.Query.Metrics {
			if m.IsMoney() {
				for _, c := range currencies {
					line = append(line, strconv.FormatInt(r.Money(m, c), 10))
				}
				continue
			}
			v := r.Value(m, "")
			if m.IsSession() || m == RefundRate || m == ReturningCustomerRate {
				line = append(line, strconv.FormatFloat(v, 'g', -1, 64))
			} else {
				line = append(line, strconv.FormatInt(int64(v), 10))
			}
		}
		_ = w.Write(line)
	}
	w.Flush()
	return buf.Bytes()
}
