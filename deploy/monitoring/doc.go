// Package monitoring holds the shop's Grafana dashboards, Prometheus alert
// rules and scrape configuration, and the list of the metrics they may use
// (metrics.txt), which tests check against the code's real registry.
package monitoring

import (
	"embed"
	"fmt"
	"strings"
)

// Files are the dashboards, rules, provisioning files and metrics.txt.
//
//go:embed metrics.txt prometheus grafana
var Files embed.FS

// Metric is one line of metrics.txt.
type Metric struct {
	Name   string
	Type   string // counter, gauge or histogram
	Labels []string
}

// Metrics reads metrics.txt, by name.
func Metrics() (map[string]Metric, error) {
	b, err := Files.ReadFile("metrics.txt")
	if err != nil {
		return nil, err
	}
	out := map[string]Metric{}
	for i, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) < 2 || len(f) > 3 {
			return nil, fmt.Errorf("metrics.txt:%d: want NAME TYPE [LABEL,...]", i+1)
		}
		m := Metric{Name: f[0], Type: f[1]}
		if len(f) == 3 {
			m.Labels = strings.Split(f[2], ",")
		}
		switch m.Type {
		case "counter", "gauge", "histogram":
		default:
			return nil, fmt.Errorf("metrics.txt:%d: type %q is not counter, gauge or histogram", i+1, m.Type)
		}
		if _, dup := out[m.Name]; dup {
			return nil, fmt.Errorf("metrics.txt:%d: %s listed twice", i+1, m.Name)
		}
		out[m.Name] = m
	}
	return out, nil
}
