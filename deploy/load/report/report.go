// Package report writes a load run as markdown plus a PNG chart of each
// endpoint's latency percentiles.
package report

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/shopkit/shop/deploy/load/stats"
)

// Phase is one part of the run: a set of endpoints measured together.
type Phase struct {
	Name        string
	Description string
	Summaries   []stats.Summary
}

// Ratio compares the shop with a baseline against a goal.
type Ratio struct {
	Name   string
	Value  float64 // e.g. 0.45 for 45 %, or 1.3 for 1.3×
	Goal   string  // e.g. "≥ 40 %"
	Pass   bool
	Detail string // the two figures it divides
	Format string // "percent" or "times"
}

// Measured is the value as the report prints it: "45 %" or "1.30×".
func (x Ratio) Measured() string {
	if x.Format == "times" {
		return fmt.Sprintf("%.2f×", x.Value)
	}
	return fmt.Sprintf("%.0f %%", x.Value*100)
}

// Report is a whole run.
type Report struct {
	Started    time.Time
	Target     string   // the API's base URL
	Temporal   string   // which Temporal server was measured
	Conditions []string // machine, concurrency, durations
	Phases     []Phase
	Ratios     []Ratio
	Hotspots   string // `go tool pprof -top` of the API during GetProduct
	Notes      []string
}

// Write puts report.md and latency.png into dir and returns their paths.
func Write(dir string, r Report) (md, png string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	png = filepath.Join(dir, "latency.png")
	var all []stats.Summary
	for _, p := range r.Phases {
		for _, s := range p.Summaries {
			s.Name = p.Name + ": " + s.Name
			all = append(all, s)
		}
	}
	if err := Chart(png, all); err != nil {
		return "", "", err
	}
	md = filepath.Join(dir, "report.md")
	return md, png, os.WriteFile(md, []byte(Markdown(r, filepath.Base(png))), 0o644)
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond))
}

// Markdown renders the report; chart is the PNG's path relative to it.
func Markdown(r Report, chart string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Load test, %s\n\n", r.Started.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- API: %s\n- Temporal: %s\n", r.Target, r.Temporal)
	for _, c := range r.Conditions {
		fmt.Fprintf(&b, "- %s\n", c)
	}
	if len(r.Ratios) > 0 {
		b.WriteString("\n## Against the bare baselines\n\n| ratio | measured | goal | | from |\n|---|---|---|---|---|\n")
		for _, x := range r.Ratios {
			verdict := "met"
			if !x.Pass {
				verdict = "**missed**"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", x.Name, x.Measured(), x.Goal, verdict, x.Detail)
		}
	}
	for _, p := range r.Phases {
		fmt.Fprintf(&b, "\n## %s\n\n", p.Name)
		if p.Description != "" {
			b.WriteString(p.Description + "\n\n")
		}
		b.WriteString("| endpoint | requests | ok | rate limited (429) | errors | p50 ms | p95 ms | p99 ms | max ms | ok/s |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, s := range p.Summaries {
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s | %s | %s | %s | %.1f |\n", s.Name, s.Requests, s.OK,
				s.RateLimited, s.Errors, ms(s.P50), ms(s.P95), ms(s.P99), ms(s.Max), s.Throughput)
		}
		for _, s := range p.Summaries {
			if s.FirstError != "" {
				fmt.Fprintf(&b, "\nFirst error of %s: `%s`\n", s.Name, strings.ReplaceAll(s.FirstError, "`", "'"))
			}
		}
	}
	if r.Hotspots != "" {
		b.WriteString("\n## API CPU profile during the GetProduct phase (top)\n\n```\n" + strings.TrimSpace(r.Hotspots) + "\n```\n")
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	fmt.Fprintf(&b, "\n![latency per endpoint](%s)\n", chart)
	return b.String()
}

// floorMS is the bottom of the chart's logarithmic axis.
const floorMS = 0.01

// logTicks labels the chart's axis, whose values are log10(ms/floorMS).
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for v := math.Floor(lo); v <= math.Ceil(hi); v++ {
		ts = append(ts, plot.Tick{Value: v, Label: strconvFloat(floorMS * math.Pow(10, v))})
	}
	return ts
}

func strconvFloat(f float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", f), "0"), ".")
}

// Chart draws p50, p95 and p99 per endpoint as grouped bars on a
// logarithmic axis of milliseconds (a bare handler and a checkout differ by
// orders of magnitude).
func Chart(path string, ss []stats.Summary) error {
	p := plot.New()
	p.Title.Text = "Latency per endpoint"
	p.Y.Label.Text = "ms (log scale)"
	p.Y.Tick.Marker = logTicks{}
	p.Y.Min = 0
	names := make([]string, len(ss))
	vals := [3]plotter.Values{}
	top := 0.0
	for i, s := range ss {
		names[i] = s.Name
		for j, d := range []time.Duration{s.P50, s.P95, s.P99} {
			v := float64(d) / float64(time.Millisecond)
			vals[j] = append(vals[j], math.Log10(math.Max(v, floorMS)/floorMS))
			top = math.Max(top, vals[j][i])
		}
	}
	p.Y.Max = math.Ceil(top + 0.3) // room for the legend
	w := vg.Points(7)
	for j, label := range []string{"p50", "p95", "p99"} {
		bars, err := plotter.NewBarChart(vals[j], w)
		if err != nil {
			return err
		}
		bars.LineStyle.Width = 0
		bars.Color = plotutil.Color(j)
		bars.Offset = vg.Length(j-1) * w
		p.Add(bars)
		p.Legend.Add(label, bars)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = math.Pi / 4
	p.X.Tick.Label.XAlign = -1 // right-aligned under the bar once rotated
	p.X.Tick.Label.YAlign = -0.5
	p.X.Tick.Label.Color = color.Black
	width := vg.Length(max(len(ss), 4)) * 0.45 * vg.Inch
	return p.Save(max(width, 6*vg.Inch), 7*vg.Inch, path)
}
