package ratelimit

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// ParseLimits reads per-endpoint limits from one env var value, such as
// "auth=10/1m, default=300/1m, login=5/1m:10" (name=RATE/PERIOD[:BURST]).
// PERIOD is a Go duration or one of the shorthands s, m, h (1s, 1m, 1h).
// Errors name the bad entry and why, so a typo fails startup legibly.
// An empty string yields an empty map and no error.
func ParseLimits(s string) (map[string]Limit, error) {
	limits := map[string]Limit{}
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue // tolerate "a=1/s," and blank values
		}
		name, spec, ok := strings.Cut(entry, "=")
		name, spec = strings.TrimSpace(name), strings.TrimSpace(spec)
		if !ok {
			return nil, fmt.Errorf("ratelimit: entry %q: want name=RATE/PERIOD[:BURST]", entry)
		}
		if name == "" || strings.ContainsFunc(name, unicode.IsSpace) {
			return nil, fmt.Errorf("ratelimit: entry %q: name must be non-empty without spaces", entry)
		}
		if _, dup := limits[name]; dup {
			return nil, fmt.Errorf("ratelimit: entry %q: duplicate name %q", entry, name)
		}
		l, err := parseLimit(spec)
		if err != nil {
			return nil, fmt.Errorf("ratelimit: entry %q: %w", entry, err)
		}
		limits[name] = l
	}
	return limits, nil
}

func parseLimit(spec string) (Limit, error) {
	rate, rest, ok := strings.Cut(spec, "/")
	if !ok {
		return Limit{}, fmt.Errorf("missing /PERIOD in %q", spec)
	}
	period, burst, hasBurst := strings.Cut(rest, ":")
	var l Limit
	var err error
	if l.Rate, err = positiveInt("rate", rate); err != nil {
		return Limit{}, err
	}
	if l.Period, err = parsePeriod(period); err != nil {
		return Limit{}, err
	}
	if hasBurst {
		if l.Burst, err = positiveInt("burst", burst); err != nil {
			return Limit{}, err
		}
	}
	return l, nil
}

func positiveInt(what, s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s %q is not a positive integer", what, s)
	}
	return n, nil
}

func parsePeriod(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "s":
		return time.Second, nil
	case "m":
		return time.Minute, nil
	case "h":
		return time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("period %q is not a positive duration (e.g. 1m, 30s, or s/m/h)", s)
	}
	return d, nil
}

// String formats l as ParseLimits reads it ("10/1m0s", "5/1m0s:10"), so
// effective limits can be logged and fed back as configuration. Burst is
// written only when set explicitly, keeping the round trip exact.
func (l Limit) String() string {
	if l.Burst > 0 {
		return fmt.Sprintf("%d/%s:%d", l.Rate, l.Period, l.Burst)
	}
	return fmt.Sprintf("%d/%s", l.Rate, l.Period)
}
