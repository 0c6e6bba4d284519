// Package helm_test renders the chart in deploy/helm/shop with bin/helm and
// checks every manifest against the Kubernetes API types, strictly: a
// misspelt field, a duplicate key or a wrong type fails, as the API server
// would refuse it. Then it checks what the types cannot: probes on paths the
// app serves, secrets only from the named Secret, variables the app reads,
// HPAs and PDBs that find their Deployments.
package helm_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/shopkit/shop/internal/config"
)

const (
	chart   = "shop"
	release = "shop"
	repo    = "../.."
)

// The rendered variants: each values file, and the optional features on.
var cases = []struct {
	name   string
	args   []string
	secret string // secrets.existingSecret of that variant
}{
	{"default", nil, "shop"},
	{"staging", []string{"--values", "shop/values.staging.yaml"}, "shop-staging"},
	{"production", []string{"--values", "shop/values.prod.yaml"}, "shop"},
	{"features", []string{
		"--set", "ingress.enabled=true,ingress.hosts[0]=shop.test,ingress.className=nginx",
		"--set", "serviceMonitor.enabled=true,search.backend=elasticsearch",
		"--set", "api.autoscaling.enabled=false,worker.pdb.enabled=false,migrations.enabled=false",
		"--set", "secrets.existingSecret=other,api.env.DATABASE_MAX_CONNS=7,secrets.optional={SMTP_PASSWORD,ELASTICSEARCH_URL}",
		"--set", "networkPolicy.enabled=true",
		"--set", "ingress.grpc.enabled=true,ingress.grpc.hosts[0]=grpc.shop.test,ingress.grpc.tls[0].secretName=grpc-tls",
	}, "other"},
}

// helm is bin/helm (`make tools` builds it). Under make or CI a missing
// binary fails the test; a bare `go test` skips it.
func helm(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BIN_DIR")
	if dir == "" {
		dir = filepath.Join(repo, "bin")
	}
	path, err := filepath.Abs(filepath.Join(dir, "helm"))
	require.NoError(t, err)
	if _, err := os.Stat(path); err != nil {
		msg := fmt.Sprintf("%s is missing: build it with `make tools` (helm v3.22.0 from the Go module proxy)", path)
		if os.Getenv("CI") != "" || os.Getenv("MAKELEVEL") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// decoder decodes strictly into the registered API types.
var decoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, autoscalingv2.AddToScheme,
		policyv1.AddToScheme, networkingv1.AddToScheme, monitoringv1.AddToScheme,
	} {
		utilruntime.Must(add(scheme))
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}()

// rendered is one `helm template`, by kind.
type rendered struct {
	deployments     map[string]*appsv1.Deployment
	services        map[string]*corev1.Service
	configMaps      map[string]*corev1.ConfigMap
	jobs            []*batchv1.Job
	hpas            []*autoscalingv2.HorizontalPodAutoscaler
	pdbs            []*policyv1.PodDisruptionBudget
	ingresses       []*networkingv1.Ingress
	networkPolicies []*networkingv1.NetworkPolicy
	serviceMonitors []*monitoringv1.ServiceMonitor
	kinds           []string
}

func render(t *testing.T, args ...string) rendered {
	t.Helper()
	cmd := exec.Command(helm(t), append([]string{"template", release, chart, "--namespace", "shop"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "helm template: %s", stderr.String())

	r := rendered{deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{},
		configMaps: map[string]*corev1.ConfigMap{}}
	docs := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(out)))
	for {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		obj, gvk, err := decoder.Decode(doc, nil, nil)
		require.NoError(t, err, "strict decoding of:\n%s", doc)
		r.kinds = append(r.kinds, gvk.Kind)
		switch o := obj.(type) {
		case *appsv1.Deployment:
			r.deployments[o.Name] = o
		case *corev1.Service:
			r.services[o.Name] = o
		case *corev1.ConfigMap:
			r.configMaps[o.Name] = o
		case *batchv1.Job:
			r.jobs = append(r.jobs, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			r.hpas = append(r.hpas, o)
		case *policyv1.PodDisruptionBudget:
			r.pdbs = append(r.pdbs, o)
		case *networkingv1.Ingress:
			r.ingresses = append(r.ingresses, o)
		case *networkingv1.NetworkPolicy:
			r.networkPolicies = append(r.networkPolicies, o)
		case *monitoringv1.ServiceMonitor:
			r.serviceMonitors = append(r.serviceMonitors, o)
		case *corev1.ServiceAccount:
		default:
			t.Errorf("unexpected kind %s", gvk)
		}
	}
	return r
}

func stripComments(doc []byte) []byte {
	var out []byte
	for line := range bytes.Lines(doc) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line...)
		}
	}
	return out
}

// The roles: their Deployment, args, probe paths and the variables naming
// their HTTP port and (api) the web app's.
var roles = []struct {
	component, live, ready, portVar, webPortVar string
	args                                        []string
}{
	{"api", "/healthz", "/readyz", "HTTP_ADDR", "WEB_ADDR", []string{"api"}},
	{"recommender", "/healthz", "/readyz", "RECOMMENDER_ADDR", "", []string{"recommender"}},
	{"worker", "/metrics", "/metrics", "", "", []string{"worker"}},
}

func TestChart(t *testing.T) {
	known := appVariables(t)
	served := servedPaths(t)
	workerStop := workerStopTimeout(t)
	serve, err := os.ReadFile(filepath.Join(repo, "cmd/shop/api.go"))
	require.NoError(t, err)
	require.Contains(t, string(serve), "protocols.SetUnencryptedHTTP2(true)", "the HTTP port speaks h2c, as the Services' appProtocol says")
	assert.Equal(t, workerStop, readValues(t).Worker.StopTimeoutSeconds, "worker.stopTimeoutSeconds in values.yaml is workers.StopTimeout")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := render(t, tc.args...)
			assert.NotContains(t, r.kinds, "Secret", "secret values never come from the chart")

			cm := r.configMaps[release]
			require.NotNil(t, cm, "the ConfigMap %q", release)
			for name := range cm.Data {
				assert.Contains(t, known, name, "ConfigMap %s: a variable the app does not read", name)
			}
			secretNames := secretVariables(t)
			for _, name := range secretNames {
				assert.NotContains(t, cm.Data, name, "a secret in the ConfigMap")
			}
			port := func(variable string) int32 {
				_, p, err := net.SplitHostPort(cm.Data[variable])
				require.NoError(t, err, variable)
				n, err := strconv.Atoi(p)
				require.NoError(t, err, variable)
				return int32(n)
			}
			shutdown, err := strconv.Atoi(strings.TrimSuffix(cm.Data["SHUTDOWN_TIMEOUT"], "s"))
			require.NoError(t, err, "SHUTDOWN_TIMEOUT in seconds")

			for _, role := range roles {
				d := r.deployments[release+"-"+role.component]
				require.NotNil(t, d, "Deployment of %s", role.component)
				spec := d.Spec.Template.Spec
				require.Len(t, spec.Containers, 1)
				c := spec.Containers[0]
				assert.Equal(t, role.args, c.Args)
				assert.Equal(t, appsv1.RollingUpdateDeploymentStrategyType, d.Spec.Strategy.Type)

				// Probes on paths the app serves, on the port it listens on.
				ports := map[string]int32{}
				for _, p := range c.Ports {
					ports[p.Name] = p.ContainerPort
				}
				assert.Equal(t, port(metricsVariable(role.component)), ports["metrics"], "%s metrics port", role.component)
				if role.portVar != "" {
					assert.Equal(t, port(role.portVar), ports["http"], "%s http port", role.component)
				}
				if role.webPortVar != "" {
					assert.Equal(t, port(role.webPortVar), ports["web"], "%s web port", role.component)
					assert.Equal(t, int32(3000), ports["web"], "the storefront on :3000, as README's ports table says")
				} else {
					assert.NotContains(t, ports, "web", "only the API serves the web app")
				}
				for what, p := range map[string]struct {
					probe *corev1.Probe
					path  string
				}{"liveness": {c.LivenessProbe, role.live}, "readiness": {c.ReadinessProbe, role.ready}, "startup": {c.StartupProbe, role.live}} {
					require.NotNil(t, p.probe, "%s %s probe", role.component, what)
					require.NotNil(t, p.probe.HTTPGet, "%s %s probe is an HTTP GET", role.component, what)
					assert.Equal(t, p.path, p.probe.HTTPGet.Path, "%s %s probe", role.component, what)
					assert.Contains(t, served, p.path)
					assert.Contains(t, ports, p.probe.HTTPGet.Port.String(), "%s %s probe's port", role.component, what)
				}
				if role.component == "worker" {
					assert.Equal(t, ports["metrics"], port("WORKER_METRICS_ADDR"))
				}

				// Non-root, read-only, no capabilities, seccomp.
				psc, sc := spec.SecurityContext, c.SecurityContext
				require.NotNil(t, psc)
				require.NotNil(t, sc)
				assert.True(t, *psc.RunAsNonRoot)
				assert.NotZero(t, *psc.RunAsUser)
				assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, psc.SeccompProfile.Type)
				assert.True(t, *sc.ReadOnlyRootFilesystem)
				assert.False(t, *sc.AllowPrivilegeEscalation)
				assert.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
				assert.False(t, *spec.AutomountServiceAccountToken)

				for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
					assert.Contains(t, c.Resources.Requests, res, "%s requests", role.component)
					assert.Contains(t, c.Resources.Limits, res, "%s limits", role.component)
				}
				assert.NotEmpty(t, spec.TopologySpreadConstraints)

				// SIGTERM grace covers the preStop pause and the drain (the
				// workers' stop timeout in the code), plus a margin for
				// closing the clients.
				drain := int64(shutdown)
				if role.component == "worker" {
					drain = workerStop
				}
				if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
					require.NotNil(t, c.Lifecycle.PreStop.Sleep, "distroless has no shell: preStop sleeps")
					drain += c.Lifecycle.PreStop.Sleep.Seconds
				}
				assert.GreaterOrEqual(t, *spec.TerminationGracePeriodSeconds, drain+5, "%s grace", role.component)

				checkEnv(t, c, tc.secret, known, secretNames, release)
			}

			for _, j := range r.jobs {
				assert.Equal(t, "pre-install,pre-upgrade", j.Annotations["helm.sh/hook"])
				assert.Contains(t, j.Annotations["helm.sh/hook-delete-policy"], "before-hook-creation")
				require.NotNil(t, j.Spec.BackoffLimit)
				require.NotNil(t, j.Spec.ActiveDeadlineSeconds)
				c := j.Spec.Template.Spec.Containers[0]
				assert.Equal(t, []string{"migrate", "up"}, c.Args)
				assert.True(t, *j.Spec.Template.Spec.SecurityContext.RunAsNonRoot)
				assert.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
				assert.Empty(t, c.EnvFrom, "a pre-install hook runs before the ConfigMap exists")
				checkEnv(t, c, tc.secret, known, secretNames, "")
				// The same configuration as the Deployments.
				for _, e := range c.Env {
					if e.ValueFrom == nil && e.Name != "OTEL_SERVICE_NAME" {
						assert.Equal(t, cm.Data[e.Name], e.Value, "migration job's %s", e.Name)
					}
				}
			}
			if tc.name == "features" {
				assert.Empty(t, r.jobs)
			} else {
				assert.Len(t, r.jobs, 1, "the migration hook")
			}

			for _, h := range r.hpas {
				ref := h.Spec.ScaleTargetRef
				assert.Equal(t, "Deployment", ref.Kind)
				assert.Equal(t, "apps/v1", ref.APIVersion)
				d := r.deployments[ref.Name]
				require.NotNil(t, d, "HPA %s targets Deployment %s", h.Name, ref.Name)
				assert.Equal(t, h.Labels["app.kubernetes.io/component"], d.Labels["app.kubernetes.io/component"])
				assert.Nil(t, d.Spec.Replicas, "an autoscaled Deployment leaves replicas to its HPA")
				assert.LessOrEqual(t, *h.Spec.MinReplicas, h.Spec.MaxReplicas)
			}
			for _, d := range r.deployments {
				if d.Spec.Replicas == nil {
					assert.True(t, slices.ContainsFunc(r.hpas, func(h *autoscalingv2.HorizontalPodAutoscaler) bool {
						return h.Spec.ScaleTargetRef.Name == d.Name
					}), "Deployment %s has neither replicas nor an HPA", d.Name)
				}
			}
			for _, p := range r.pdbs {
				assert.Equal(t, []string{p.Name}, matching(t, p.Spec.Selector, r.deployments), "PDB %s selects the pods of one Deployment", p.Name)
			}
			for _, s := range r.services {
				sel := &metav1.LabelSelector{MatchLabels: s.Spec.Selector}
				selected := matching(t, sel, r.deployments)
				require.Equal(t, []string{s.Name}, selected, "Service %s selects the pods of one Deployment", s.Name)
				d := r.deployments[selected[0]]
				for _, p := range s.Spec.Ports {
					if p.Name == "http" || p.Name == "web" {
						require.NotNil(t, p.AppProtocol)
						assert.Equal(t, "kubernetes.io/h2c", *p.AppProtocol, "Service %s: the port speaks h2c", s.Name)
					}
					assert.True(t, slices.ContainsFunc(d.Spec.Template.Spec.Containers[0].Ports, func(cp corev1.ContainerPort) bool {
						return cp.Name == p.TargetPort.String()
					}), "Service %s port %s: no such container port", s.Name, p.Name)
				}
			}
			for _, sm := range r.serviceMonitors {
				sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
				require.NoError(t, err)
				var scraped []string
				for _, s := range r.services {
					if sel.Matches(labels.Set(s.Labels)) {
						scraped = append(scraped, s.Name)
						assert.True(t, slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "metrics" }))
					}
				}
				slices.Sort(scraped)
				assert.Equal(t, []string{"shop-api", "shop-recommender", "shop-worker"}, scraped, "ServiceMonitor scrapes the three roles")
				require.Len(t, sm.Spec.Endpoints, 1)
				assert.Equal(t, "metrics", sm.Spec.Endpoints[0].Port)
				assert.Equal(t, "/metrics", sm.Spec.Endpoints[0].Path)
			}
			webPort := slices.IndexFunc(r.services["shop-api"].Spec.Ports, func(p corev1.ServicePort) bool {
				return p.Name == "web" && p.TargetPort.String() == "web" && p.Port == 3000
			})
			assert.GreaterOrEqual(t, webPort, 0, "Service shop-api publishes the web port 3000")
			hosts := map[string]string{} // host: Ingress
			for _, ing := range r.ingresses {
				// gRPC passes ingress-nginx only with the GRPC backend
				// protocol, and then nothing else does: such an Ingress
				// has hosts of its own, and TLS (HTTP/2 to nginx).
				grpc := ing.Annotations["nginx.ingress.kubernetes.io/backend-protocol"] == "GRPC"
				if grpc {
					assert.NotEmpty(t, ing.Spec.TLS, "Ingress %s: gRPC needs TLS", ing.Name)
				}
				for _, rule := range ing.Spec.Rules {
					if other, ok := hosts[rule.Host]; ok {
						assert.Equal(t, other, ing.Name, "host %s in Ingresses %s and %s", rule.Host, other, ing.Name)
					}
					hosts[rule.Host] = ing.Name
					for _, p := range rule.HTTP.Paths {
						s := r.services[p.Backend.Service.Name]
						require.NotNil(t, s, "Ingress backend %s", p.Backend.Service.Name)
						// Browsers (the storefront, and the API's paths on
						// its origin) go to the API's web port; native
						// gRPC and the recommender to their HTTP ports;
						// metrics never.
						want := "http"
						if !grpc && p.Path == "/" {
							assert.Equal(t, "shop-api", s.Name, "Ingress %s: / goes to the API", ing.Name)
							want = "web"
						}
						assert.Equal(t, want, p.Backend.Service.Port.Name, "Ingress %s path %s", ing.Name, p.Path)
					}
				}
			}
			checkNetworkPolicies(t, r, cm.Data["TRUST_PROXY_HEADERS"] == "true")
			if tc.name == "default" {
				assert.Empty(t, r.networkPolicies)
				assert.Equal(t, "false", cm.Data["TRUST_PROXY_HEADERS"], "X-Forwarded-For is not trusted by default")
			}
			if tc.name == "features" || tc.name == "production" {
				require.Len(t, r.ingresses, 2, "the Ingress and the gRPC one")
				assert.Equal(t, "GRPC", r.ingresses[1].Annotations["nginx.ingress.kubernetes.io/backend-protocol"])
			}
			if tc.name == "features" {
				assert.Len(t, r.serviceMonitors, 1)
				assert.Equal(t, "elasticsearch", cm.Data["SEARCH_BACKEND"])
				assert.Equal(t, int32(2), *r.deployments["shop-api"].Spec.Replicas)
				assert.Len(t, r.pdbs, 2)
			}
		})
	}
}

// checkNetworkPolicies: each policy selects the pods of one role and admits
// its HTTP port from the Ingress controller's namespace only, its metrics
// port from the monitoring namespace only (as values.yaml names them), and
// nothing else. Where the API trusts X-Forwarded-For, the policies exist.
func checkNetworkPolicies(t *testing.T, r rendered, trustProxy bool) {
	t.Helper()
	if trustProxy {
		require.Len(t, r.networkPolicies, 3, "TRUST_PROXY_HEADERS=true: only the Ingress controller may reach the API (networkPolicy.enabled)")
	}
	np := readValues(t).NetworkPolicy
	for _, p := range r.networkPolicies {
		selected := matching(t, &p.Spec.PodSelector, r.deployments)
		require.Len(t, selected, 1, "NetworkPolicy %s selects the pods of one Deployment", p.Name)
		d := r.deployments[selected[0]]
		assert.Equal(t, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}, p.Spec.PolicyTypes, "egress is not restricted")
		admitted := map[string][]networkingv1.NetworkPolicyPeer{}
		for _, rule := range p.Spec.Ingress {
			require.NotEmpty(t, rule.Ports, "%s: a rule without ports admits every port", p.Name)
			require.NotEmpty(t, rule.From, "%s: a rule without peers admits every source", p.Name)
			for _, port := range rule.Ports {
				require.NotNil(t, port.Port, "%s: a rule for every port", p.Name)
				assert.True(t, slices.ContainsFunc(d.Spec.Template.Spec.Containers[0].Ports, func(cp corev1.ContainerPort) bool {
					return cp.Name == port.Port.String()
				}), "NetworkPolicy %s port %s: no such container port", p.Name, port.Port)
				admitted[port.Port.String()] = append(admitted[port.Port.String()], rule.From...)
			}
		}
		want := map[string][]networkingv1.NetworkPolicyPeer{"metrics": {np.Monitoring.peer()}}
		if d.Labels["app.kubernetes.io/component"] != "worker" {
			want["http"] = []networkingv1.NetworkPolicyPeer{np.IngressController.peer()}
		}
		if d.Labels["app.kubernetes.io/component"] == "api" {
			want["web"] = []networkingv1.NetworkPolicyPeer{np.IngressController.peer()}
		}
		assert.Equal(t, want, admitted, "NetworkPolicy %s: the peers admitted to each port", p.Name)
	}
}

// checkEnv: every variable is one the app reads; secrets come only through
// secretKeyRef to the configured Secret and are never literal values.
func checkEnv(t *testing.T, c corev1.Container, secret string, known map[string]bool, secretNames []string, configMap string) {
	t.Helper()
	seen := map[string]bool{}
	for _, e := range c.Env {
		assert.True(t, known[e.Name], "%s: env %s is not a variable the app reads", c.Name, e.Name)
		assert.False(t, seen[e.Name], "%s: env %s twice", c.Name, e.Name)
		seen[e.Name] = true
		if e.ValueFrom != nil {
			ref := e.ValueFrom.SecretKeyRef
			require.NotNil(t, ref, "%s: env %s comes from a Secret or is a value", c.Name, e.Name)
			assert.Equal(t, secret, ref.Name, "%s: env %s", c.Name, e.Name)
			assert.Equal(t, e.Name, ref.Key, "%s: env %s", c.Name, e.Name)
			continue
		}
		assert.NotContains(t, secretNames, e.Name, "%s: secret %s as a literal value", c.Name, e.Name)
	}
	for _, name := range secretNames {
		if name == "DATABASE_URL" || name == "REDIS_URL" || name == "STRIPE_SECRET_KEY" || name == "JWT_SIGNING_KEYS" {
			assert.True(t, seen[name], "%s: %s from the Secret", c.Name, name)
		}
	}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			assert.Equal(t, configMap, from.ConfigMapRef.Name)
		case from.SecretRef != nil:
			assert.Equal(t, secret, from.SecretRef.Name)
		default:
			t.Errorf("%s: envFrom neither a ConfigMap nor a Secret", c.Name)
		}
	}
}

// matching names the Deployments whose pods sel selects.
func matching(t *testing.T, sel *metav1.LabelSelector, deployments map[string]*appsv1.Deployment) []string {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	require.NoError(t, err)
	require.False(t, s.Empty(), "an empty selector selects everything")
	var out []string
	for name, d := range deployments {
		if s.Matches(labels.Set(d.Spec.Template.Labels)) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func metricsVariable(component string) string {
	return map[string]string{"api": "METRICS_ADDR", "recommender": "RECOMMENDER_METRICS_ADDR", "worker": "WORKER_METRICS_ADDR"}[component]
}

// appVariables are the variables the app reads: internal/config's defaults
// (every setting has one) and the OpenTelemetry SDK's that README documents.
func appVariables(t *testing.T) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	for name := range config.Defaults() {
		known[name] = true
	}
	require.Greater(t, len(known), 50, "the defaults map of internal/config")
	for _, name := range []string{"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_EXPORTER_OTLP_ENDPOINT",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TIMEOUT",
		"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_SDK_DISABLED"} {
		known[name] = true
	}
	return known
}

// servedPaths are the probe paths the code registers: /healthz and /readyz
// on the API's mux (api and recommender), /metrics on the metrics listener.
func servedPaths(t *testing.T) []string {
	t.Helper()
	var out []string
	for file, routes := range map[string][]string{
		"api/server.go":       {"/healthz", "/readyz"},
		"cmd/shop/metrics.go": {"/metrics"},
	} {
		src, err := os.ReadFile(filepath.Join(repo, file))
		require.NoError(t, err)
		for _, r := range routes {
			if assert.Contains(t, string(src), `"GET `+r+`"`, "%s serves %s", file, r) {
				out = append(out, r)
			}
		}
	}
	return out
}

// workerStopTimeout is workers.StopTimeout in seconds, read from its
// declaration (`N * time.Second`) in workers/run.go.
func workerStopTimeout(t *testing.T) int64 {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(repo, "workers/run.go"), nil, 0)
	require.NoError(t, err)
	var seconds int64
	ast.Inspect(f, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok || len(spec.Names) != 1 || spec.Names[0].Name != "StopTimeout" {
			return true
		}
		mul, ok := spec.Values[0].(*ast.BinaryExpr)
		require.True(t, ok && mul.Op == token.MUL, "StopTimeout = N * time.Second")
		lit, ok := mul.X.(*ast.BasicLit)
		unit, ok2 := mul.Y.(*ast.SelectorExpr)
		require.True(t, ok && ok2 && lit.Kind == token.INT && unit.Sel.Name == "Second", "StopTimeout = N * time.Second")
		seconds, err = strconv.ParseInt(lit.Value, 10, 64)
		require.NoError(t, err)
		return false
	})
	require.NotZero(t, seconds, "workers.StopTimeout in workers/run.go")
	return seconds
}

type values struct {
	Secrets struct {
		ExistingSecret     string
		Required, Optional []string
	}
	Temporal struct {
		SearchAttributes map[string]string `json:"searchAttributes"`
	}
	Worker struct {
		StopTimeoutSeconds int64 `json:"stopTimeoutSeconds"`
	}
	NetworkPolicy struct {
		IngressController peerValues `json:"ingressController"`
		Monitoring        peerValues `json:"monitoring"`
	} `json:"networkPolicy"`
}

type peerValues struct {
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector"`
	PodSelector       *metav1.LabelSelector `json:"podSelector"`
}

// peer is the NetworkPolicyPeer the chart renders: pods of the namespaces
// selected, all of them when podSelector is empty.
func (v peerValues) peer() networkingv1.NetworkPolicyPeer {
	p := networkingv1.NetworkPolicyPeer{NamespaceSelector: v.NamespaceSelector, PodSelector: v.PodSelector}
	if p.PodSelector != nil && len(p.PodSelector.MatchLabels) == 0 && len(p.PodSelector.MatchExpressions) == 0 {
		p.PodSelector = nil
	}
	return p
}

func readValues(t *testing.T) values {
	t.Helper()
	b, err := os.ReadFile("shop/values.yaml")
	require.NoError(t, err)
	var v values
	require.NoError(t, yaml.Unmarshal(b, &v))
	return v
}

// secretVariables are the variables values.yaml reads from the Secret; they
// must include every secret internal/config names.
func secretVariables(t *testing.T) []string {
	t.Helper()
	v := readValues(t)
	names := append(slices.Clone(v.Secrets.Required), v.Secrets.Optional...)
	for _, s := range []string{"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "CARRIER_WEBHOOK_SECRET", "SMTP_PASSWORD",
		"JWT_SIGNING_KEYS", "CART_REMINDER_SECRET", "RECOMMENDER_INTERNAL_TOKEN", "DATABASE_URL", "REDIS_URL"} {
		assert.Contains(t, names, s, "values.yaml secrets")
	}
	return names
}

// TestSearchAttributes: the attributes NOTES.txt tells to register are the
// app's (deploy/search-attributes, generated from internal/searchattr).
func TestSearchAttributes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repo, "deploy/search-attributes"))
	require.NoError(t, err)
	want := map[string]string{}
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, typ, ok := strings.Cut(line, "=")
		require.True(t, ok, line)
		want[name] = typ
	}
	got := readValues(t).Temporal.SearchAttributes
	assert.Equal(t, want, got, "temporal.searchAttributes in values.yaml")

	// NOTES.txt prints a create command for each (rendering NOTES takes
	// `helm install`, which needs a cluster even with --dry-run).
	notes, err := os.ReadFile("shop/templates/NOTES.txt")
	require.NoError(t, err)
	assert.Contains(t, string(notes), "range $name, $type := .Values.temporal.searchAttributes")
	assert.Contains(t, string(notes), "temporal operator search-attribute create --namespace {{ $.Values.temporal.namespace }} --name {{ $name }} --type {{ $type }}")
}

// TestChartRefusesConfig: a variable with a value of its own (ports,
// Temporal, search) is not set twice, and a secret never through config.
func TestChartRefusesConfig(t *testing.T) {
	for set, want := range map[string]string{
		"config.TEMPORAL_ADDRESS=x:1":   "config.TEMPORAL_ADDRESS: set it through its own value",
		"config.STRIPE_SECRET_KEY=sk_1": "config.STRIPE_SECRET_KEY: a secret",
		"networkPolicy.enabled=true,networkPolicy.monitoring.namespaceSelector=null":                                                 "networkPolicy.monitoring.namespaceSelector: select its namespace",
		"ingress.enabled=true,ingress.hosts[0]=a,ingress.grpc.enabled=true,ingress.grpc.hosts[0]=a,ingress.grpc.tls[0].secretName=t": "ingress.grpc.hosts: a is also in ingress.hosts",
		"ingress.enabled=true,ingress.hosts[0]=a,ingress.grpc.enabled=true,ingress.grpc.hosts[0]=b":                                  "ingress.grpc.tls: gRPC clients reach",
	} {
		out, err := exec.Command(helm(t), "template", release, chart, "--set", set).CombinedOutput()
		require.Error(t, err, set)
		assert.Contains(t, string(out), want)
	}
}
