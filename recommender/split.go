package recommender

import (
	"slices"
	"time"
)

// SplitUserTemporal puts, per user, the latest frac of their interactions
// (by time, at least one when the user has two or more) into test.
func SplitUserTemporal(ins []Interaction, frac float64) (train, test []Interaction) {
	byUser := map[int64][]int{}
	for i, in := range ins {
		byUser[in.UserID] = append(byUser[in.UserID], i)
	}
	isTest := make([]bool, len(ins))
	for _, idx := range byUser {
		slices.SortStableFunc(idx, func(a, b int) int { return ins[a].At.Compare(ins[b].At) })
		n := int(float64(len(idx))*frac + 0.5)
		if n == 0 && len(idx) >= 2 && frac > 0 {
			n = 1
		}
		for _, i := range idx[len(idx)-n:] {
			isTest[i] = true
		}
	}
	for i, in := range ins {
		if isTest[i] {
			test = append(test, in)
		} else {
			train = append(train, in)
		}
	}
	return train, test
}

// SplitGlobalTemporal puts every interaction at or after cutoff into test.
func SplitGlobalTemporal(ins []Interaction, cutoff time.Time) (train, test []Interaction) {
	for _, in := range ins {
		if in.At.Before(cutoff) {
			train = append(train, in)
		} else {
			test = append(test, in)
		}
	}
	return train, test
}

// TemporalCutoff is the time before which frac of the interactions happened.
func TemporalCutoff(ins []Interaction, frac float64) time.Time {
	if len(ins) == 0 {
		return time.Time{}
	}
	ts := make([]int64, len(ins))
	for i, in := range ins {
		ts[i] = in.At.UnixNano()
	}
	slices.Sort(ts)
	return time.Unix(0, ts[min(int(float64(len(ts))*frac), len(ts)-1)]).UTC()
}
