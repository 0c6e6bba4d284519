package monitoring_test

import (
	"encoding/json"
	"io/fs"
	"log/slog"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/shopkit/shop/deploy/monitoring"
)

var promql = parser.NewParser(parser.Options{})

// targetLabels are added by Prometheus to every series it scrapes.
var targetLabels = []string{"job", "instance"}

// TestAlertRules parses the rules as Prometheus does (rulefmt validates the
// expressions, the templates of the annotations, the durations) and checks
// that they use only the listed metrics and labels.
func TestAlertRules(t *testing.T) {
	known := listed(t)
	b, err := fs.ReadFile(monitoring.Files, "prometheus/alerts.yml")
	require.NoError(t, err)
	groups, errs := rulefmt.Parse(b, false, model.UTF8Validation, promql, slog.New(slog.DiscardHandler))
	require.Empty(t, errs, "alerts.yml as Prometheus reads it")

	var names []string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert, "%s: only alerting rules here", g.Name)
			names = append(names, r.Alert)
			assert.Contains(t, []string{"page", "ticket"}, r.Labels["severity"], "%s: severity", r.Alert)
			assert.NotEmpty(t, r.Annotations["summary"], "%s: summary", r.Alert)
			assert.NotEmpty(t, r.Annotations["description"], "%s: description", r.Alert)
			expr, err := promql.ParseExpr(r.Expr)
			require.NoError(t, err, r.Alert)
			checkExpr(t, r.Alert, expr, known)
		}
	}
	// What the operators were promised.
	for _, want := range []string{"ShopAPIHighErrorRate", "ShopAPIHighLatencyP99", "ShopWorkflowTaskScheduleToStartHigh",
		"ShopActivityScheduleToStartHigh", "ShopOutboxLagging", "ShopRefundsNeedAttention", "ShopStuckCheckouts"} {
		assert.Contains(t, names, want)
	}
	assert.Len(t, slices.Compact(slices.Sorted(slices.Values(names))), len(names), "alert names are unique")
}

// TestPrometheusConfigLoadsTheRules: the scrape configuration names the
// rules file and scrapes the three processes.
func TestPrometheusConfigLoadsTheRules(t *testing.T) {
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName string `yaml:"job_name"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, "prometheus/prometheus.yml", &cfg)
	assert.Equal(t, []string{"alerts.yml"}, cfg.RuleFiles)
	var jobs []string
	for _, s := range cfg.ScrapeConfigs {
		jobs = append(jobs, s.JobName)
	}
	assert.ElementsMatch(t, []string{"shop-api", "shop-recommender", "shop-worker"}, jobs)
}

var (
	grafanaVar   = regexp.MustCompile(`\$\{?(\w+)\}?`)
	grafanaRange = regexp.MustCompile(`\$__(rate_interval|interval|range)\b`)
	labelValues  = regexp.MustCompile(`^label_values\((\w+),\s*(\w+)\)$`)
)

// grafanaExpr replaces Grafana's variables with what they could stand for.
func grafanaExpr(e string) string {
	return grafanaVar.ReplaceAllString(grafanaRange.ReplaceAllString(e, "5m"), ".*")
}

// TestDashboards checks each dashboard's shape and that every query parses
// as PromQL and uses only the listed metrics and labels; the provisioning
// files load them and a Prometheus data source.
func TestDashboards(t *testing.T) {
	known := listed(t)
	files, err := fs.Glob(monitoring.Files, "grafana/dashboards/*.json")
	require.NoError(t, err)
	require.Len(t, files, 3, "API, workflows, business")
	uids := map[string]bool{}
	for _, file := range files {
		var d struct {
			UID        string  `json:"uid"`
			Title      string  `json:"title"`
			Schema     int     `json:"schemaVersion"`
			Panels     []panel `json:"panels"`
			Templating struct {
				List []struct {
					Name       string `json:"name"`
					Type       string `json:"type"`
					Definition string `json:"definition"`
				} `json:"list"`
			} `json:"templating"`
		}
		b, err := fs.ReadFile(monitoring.Files, file)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &d), file)
		require.NotEmpty(t, d.UID, file)
		assert.False(t, uids[d.UID], "%s: uid %s is taken", file, d.UID)
		uids[d.UID] = true
		assert.NotEmpty(t, d.Title, file)
		assert.GreaterOrEqual(t, d.Schema, 36, file)
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			m := labelValues.FindStringSubmatch(v.Definition)
			require.NotNil(t, m, "%s: variable %s: label_values(metric, label)", file, v.Name)
			if assert.Contains(t, known, m[1], "%s: variable %s", file, v.Name) {
				assert.Contains(t, append(known[m[1]].Labels, targetLabels...), m[2], "%s: variable %s", file, v.Name)
			}
		}
		queries := 0
		var walk func([]panel)
		walk = func(ps []panel) {
			for _, p := range ps {
				walk(p.Panels)
				if p.Type == "row" {
					continue
				}
				assert.NotEmpty(t, p.Title, "%s: panel %d has a title", file, p.ID)
				assert.NotEmpty(t, p.Targets, "%s: %s has a query", file, p.Title)
				for _, q := range p.Targets {
					where := path.Base(file) + ": " + p.Title
					expr, err := promql.ParseExpr(grafanaExpr(q.Expr))
					if assert.NoError(t, err, "%s: %s", where, q.Expr) {
						checkExpr(t, where, expr, known)
						queries++
					}
				}
			}
		}
		walk(d.Panels)
		assert.Greater(t, queries, 5, file)
	}

	var provider struct {
		Providers []struct {
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "grafana/provisioning/dashboards/shop.yml", &provider)
	require.Len(t, provider.Providers, 1)
	assert.Equal(t, "file", provider.Providers[0].Type)
	assert.NotEmpty(t, provider.Providers[0].Options.Path)
	var sources struct {
		Datasources []struct {
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	readYAML(t, "grafana/provisioning/datasources/prometheus.yml", &sources)
	require.Len(t, sources.Datasources, 1)
	assert.Equal(t, "prometheus", sources.Datasources[0].Type)
}

type panel struct {
	ID      int     `json:"id"`
	Type    string  `json:"type"`
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// TestCheckExprCatchesUnknownMetricsAndLabels: the check itself fails on
// a metric or a label that is not listed.
func TestCheckExprCatchesUnknownMetricsAndLabels(t *testing.T) {
	known := listed(t)
	for _, bad := range []string{
		`rate(shop_no_such_metric_total[5m])`,
		`sum by (nope) (rate(shop_rpc_requests_total[5m]))`,
		`shop_rpc_requests_total{nope="x"}`,
		`shop_outbox_pending_bucket`,
		`sum by (le) (rate(shop_rpc_requests_total_bucket[5m]))`,
	} {
		expr, err := promql.ParseExpr(bad)
		require.NoError(t, err)
		ft := &fakeT{}
		checkExpr(ft, "test", expr, known)
		assert.True(t, ft.failed, "%s is refused", bad)
	}
}

type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Errorf(string, ...any) { f.failed = true }

func listed(t *testing.T) map[string]monitoring.Metric {
	t.Helper()
	m, err := monitoring.Metrics()
	require.NoError(t, err)
	return m
}

func readYAML(t *testing.T, name string, v any) {
	t.Helper()
	b, err := fs.ReadFile(monitoring.Files, name)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, v), name)
}

// family finds the listed metric a series name belongs to: the name
// itself, or a histogram's _bucket, _sum or _count series.
func family(name string, known map[string]monitoring.Metric) (monitoring.Metric, bool) {
	if m, ok := known[name]; ok {
		return m, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if m, ok := known[strings.TrimSuffix(name, suffix)]; ok && strings.HasSuffix(name, suffix) && m.Type == "histogram" {
			if suffix == "_bucket" {
				m.Labels = append(slices.Clone(m.Labels), "le")
			}
			return m, true
		}
	}
	return monitoring.Metric{}, false
}

// checkExpr fails t for every metric expr selects that is not listed, and
// every label it matches or groups by that the metric does not have.
func checkExpr(t testing.TB, where string, expr parser.Expr, known map[string]monitoring.Metric) {
	t.Helper()
	labelsOf := func(sel *parser.VectorSelector) ([]string, bool) {
		m, ok := family(sel.Name, known)
		if !ok {
			t.Errorf("%s: %s is not a metric the shop exports (deploy/monitoring/metrics.txt)", where, sel.Name)
			return nil, false
		}
		return append(slices.Clone(m.Labels), targetLabels...), true
	}
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			if n.Name == "" {
				t.Errorf("%s: a selector without a metric name", where)
				return nil
			}
			have, ok := labelsOf(n)
			if !ok {
				return nil
			}
			for _, m := range n.LabelMatchers {
				if m.Name != model.MetricNameLabel && !slices.Contains(have, m.Name) {
					t.Errorf("%s: %s has no label %s", where, n.Name, m.Name)
				}
			}
		case *parser.AggregateExpr:
			parser.Inspect(n.Expr, func(inner parser.Node, _ []parser.Node) error {
				sel, ok := inner.(*parser.VectorSelector)
				if !ok || sel.Name == "" {
					return nil
				}
				have, ok := labelsOf(sel)
				if !ok {
					return nil
				}
				for _, l := range n.Grouping {
					if !slices.Contains(have, l) {
						t.Errorf("%s: %s is grouped by %s, which it does not have", where, sel.Name, l)
					}
				}
				return nil
			})
		}
		return nil
	})
}
