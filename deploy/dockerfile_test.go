// Package deploy_test checks deploy/Dockerfile with BuildKit's own parser
// and instruction linter (what `docker build` reads), and docker-compose.yml
// against the app's commands and ports, where Docker cannot run.
package deploy_test

import (
	"bytes"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	dfparser "github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/shopkit/shop/internal/config"
)

// defaults are internal/config's defaults: the ports the roles listen on.
func defaults(*testing.T) map[string]string { return config.Defaults() }

func port(t *testing.T, addr string) string {
	t.Helper()
	i := strings.LastIndex(addr, ":")
	require.GreaterOrEqual(t, i, 0, addr)
	return addr[i+1:]
}

func TestDockerfile(t *testing.T) {
	src, err := os.ReadFile("Dockerfile")
	require.NoError(t, err)
	res, err := dfparser.Parse(bytes.NewReader(src))
	require.NoError(t, err)
	for _, w := range res.Warnings {
		t.Errorf("parser: %s (line %d)", w.Short, w.Location.Start.Line)
	}
	var lints []string
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, _ []dfparser.Range) {
		lints = append(lints, rule+": "+msg)
	}})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	require.NoError(t, err)
	assert.Empty(t, lints, "BuildKit's lint rules")

	args := map[string]string{}
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				args[kv.Key] = *kv.Value
			}
		}
	}
	expand := func(s string) string {
		return regexp.MustCompile(`\$\{?(\w+)\}?`).ReplaceAllStringFunc(s, func(m string) string {
			return args[strings.Trim(m, "${}")]
		})
	}

	// The Go of the build stage is go.mod's.
	b, err := os.ReadFile("../go.mod")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)(\.\d+)?$`).FindSubmatch(b)
	require.NotNil(t, m, "go.mod's go directive")
	goMinor := string(m[1])
	assert.Equal(t, goMinor, args["GO_VERSION"], "GO_VERSION follows go.mod's go %s", m[0])

	require.GreaterOrEqual(t, len(stages), 2, "multi-stage")
	names := map[string]bool{}
	for _, s := range stages {
		base := expand(s.BaseName)
		if names[base] {
			continue // FROM an earlier stage
		}
		names[s.Name] = true
		name, tag, ok := strings.Cut(base[strings.LastIndex(base, "/")+1:], ":")
		assert.True(t, ok && tag != "" && tag != "latest", "%s: base image %q is pinned to a tag", name, base)
	}

	stage := func(image string) instructions.Stage {
		t.Helper()
		i := slices.IndexFunc(stages, func(s instructions.Stage) bool { return strings.HasPrefix(expand(s.BaseName), image+":") })
		require.GreaterOrEqual(t, i, 0, "a stage FROM %s", image)
		return stages[i]
	}
	web, build, final := stage("node"), stage("golang"), stages[len(stages)-1]
	assert.True(t, strings.HasPrefix(expand(build.BaseName), "golang:"+goMinor+"-"), build.BaseName)
	assert.Equal(t, "gcr.io/distroless/static-debian12:nonroot", final.BaseName, "static, distroless, nonroot")

	// The build: static (no cgo), ./cmd/shop, module and build caches.
	var env []string
	var cached, builds, bundled bool
	for _, c := range build.Commands {
		switch c := c.(type) {
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				env = append(env, kv.Key+"="+kv.Value)
			}
		case *instructions.CopyCommand:
			bundled = bundled || c.From == web.Name && slices.ContainsFunc(c.SourcePaths, func(src string) bool {
				return bundleDest(src, c.DestPath)
			})
		case *instructions.RunCommand:
			line := strings.Join(c.CmdLine, " ")
			if strings.Contains(line, "go build") {
				builds = strings.Contains(line, "./cmd/shop") && strings.Contains(line, "-o /out/shop")
				cached = slices.Contains(c.FlagsUsed, "mount") &&
					strings.Contains(c.String(), "target=/root/.cache/go-build") && strings.Contains(c.String(), "target=/go/pkg/mod")
				bundled = bundled || slices.ContainsFunc(mounts(t, c), func(m *instructions.Mount) bool {
					return m.Type == instructions.MountTypeBind && m.From == web.Name &&
						bundleDest(m.Source, m.Target)
				})
			}
		}
	}
	assert.Contains(t, env, "CGO_ENABLED=0", "a static binary for distroless/static")
	assert.True(t, builds, "go build -o /out/shop ./cmd/shop")
	assert.True(t, cached, "go build with the module and build caches mounted")
	assert.True(t, bundled, "go build with the web stage's dist mounted or copied onto web/dist, so that the web package embeds the app")

	// The web stage: Node 20 on Debian bookworm, pinned to a release that
	// web/package.json's engines accept, npm ci from the lock file with npm's
	// cache mounted, then the production build into dist/app.
	base := expand(web.BaseName)
	nm := regexp.MustCompile(`^node:(\d+)\.(\d+)(\.\d+)?-bookworm-slim$`).FindStringSubmatch(base)
	if assert.NotNil(t, nm, "web stage FROM node:<20.x>-bookworm-slim, pinned to a minor or patch release: %s", base) {
		assert.Equal(t, "20", nm[1], "Node 20: %s", base)
		pkg, err := os.ReadFile("../web/package.json")
		require.NoError(t, err)
		em := regexp.MustCompile(`"node":\s*">=20\.(\d+)`).FindSubmatch(pkg)
		require.NotNil(t, em, "web/package.json's engines.node")
		have, _ := strconv.Atoi(nm[2])
		want, _ := strconv.Atoi(string(em[1]))
		assert.GreaterOrEqual(t, have, want, "%s satisfies web/package.json's engines (>=20.%d)", base, want)
	}
	assert.Equal(t, "$BUILDPLATFORM", web.Platform, "the bundle is platform-independent: build it natively")
	var npmCI, npmBuild bool
	for _, c := range web.Commands {
		if c, ok := c.(*instructions.RunCommand); ok {
			line := strings.Join(c.CmdLine, " ")
			if strings.Contains(line, "npm ci") {
				npmCI = slices.ContainsFunc(mounts(t, c), func(m *instructions.Mount) bool {
					return m.Type == instructions.MountTypeCache && m.Target == "/root/.npm"
				})
			}
			npmBuild = npmBuild || strings.Contains(line, "npm run build")
		}
	}
	assert.True(t, npmCI, "npm ci with ~/.npm as a cache mount")
	assert.True(t, npmBuild, "npm run build")

	// The image: the binary as entrypoint, a numeric non-root user, the ports.
	d := defaults(t)
	var user string
	var exposed, entrypoint []string
	var labels = map[string]bool{}
	var copied bool
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.ExposeCommand:
			exposed = append(exposed, c.Ports...)
		case *instructions.EntrypointCommand:
			assert.False(t, c.PrependShell, "exec form: distroless has no shell")
			entrypoint = c.CmdLine
		case *instructions.CopyCommand:
			copied = c.From == build.Name && slices.Equal(c.SourcePaths, []string{"/out/shop"}) && c.DestPath == "/usr/local/bin/shop"
		case *instructions.LabelCommand:
			for _, kv := range c.Labels {
				labels[kv.Key] = true
			}
		}
	}
	assert.True(t, copied, "COPY --from=%s /out/shop /usr/local/bin/shop", build.Name)
	assert.Equal(t, []string{"/usr/local/bin/shop"}, entrypoint)
	uid, _, _ := strings.Cut(user, ":")
	n, err := strconv.Atoi(uid)
	assert.NoError(t, err, "USER %q is numeric, so Kubernetes can check runAsNonRoot", user)
	assert.NotZero(t, n, "USER is not root")
	for _, v := range []string{"HTTP_ADDR", "WEB_ADDR", "RECOMMENDER_ADDR", "WORKER_METRICS_ADDR"} {
		assert.Contains(t, exposed, port(t, d[v]), "EXPOSE the %s default", v)
	}
	for _, l := range []string{"org.opencontainers.image.source", "org.opencontainers.image.revision", "org.opencontainers.image.version"} {
		assert.True(t, labels[l], "LABEL %s", l)
	}

	ignore, err := os.ReadFile("../.dockerignore")
	require.NoError(t, err)
	lines := strings.Split(string(ignore), "\n")
	for _, p := range []string{".git", ".data", "bin", "web/node_modules", ".env", "web/dist/app"} {
		assert.Contains(t, lines, p, ".dockerignore")
	}
	// web/dist is the mount point of the bundle: it is in the context.
	assert.NotContains(t, lines, "web/dist", ".dockerignore")
	assert.NotContains(t, lines, "web", ".dockerignore")
	_, err = os.Stat("../web/dist/.gitkeep")
	assert.NoError(t, err, "web/dist exists in a clean clone")
}

// mounts are the RUN's --mount flags, parsed (their values are literal here).
func mounts(t *testing.T, c *instructions.RunCommand) []*instructions.Mount {
	t.Helper()
	require.NoError(t, c.Expand(func(w string) (string, error) { return w, nil }))
	return instructions.GetMounts(c)
}

// bundleDest: the web stage's build output (dist or dist/app, relative to
// its work dir or absolute) lands on web/dist or web/dist/app of the Go
// build, which run in /src.
func bundleDest(src, dst string) bool {
	src, dst = path.Clean(src), path.Clean(strings.TrimPrefix(dst, "/src/"))
	return strings.HasSuffix(src, "/dist") && dst == "web/dist" ||
		strings.HasSuffix(src, "/dist/app") && dst == "web/dist/app"
}

type composeService struct {
	Image       string
	Command     []string
	Ports       []string
	Environment map[string]string
	DependsOn   map[string]struct{ Condition string } `json:"depends_on"`
}

// TestCompose: every role of the image runs with its command, and the API,
// recommender and worker publish the ports the app listens on.
func TestCompose(t *testing.T) {
	b, err := os.ReadFile("../docker-compose.yml")
	require.NoError(t, err)
	var f struct {
		Shop     composeService `json:"x-shop"`
		Services map[string]composeService
	}
	require.NoError(t, yaml.Unmarshal(b, &f))
	d := defaults(t)
	for name, want := range map[string]struct {
		command []string
		ports   []string
	}{
		// The API and, on WEB_ADDR, the storefront and admin.
		"api":         {[]string{"api"}, []string{port(t, d["HTTP_ADDR"]), port(t, d["WEB_ADDR"])}},
		"recommender": {[]string{"recommender"}, []string{port(t, d["RECOMMENDER_ADDR"])}},
		"worker":      {[]string{"worker"}, []string{port(t, d["WORKER_METRICS_ADDR"])}},
		"migrate":     {[]string{"migrate", "up"}, nil},
		"seed":        {[]string{"seed"}, nil},
		"train":       {[]string{"recommender", "train"}, nil},
	} {
		s, ok := f.Services[name]
		if !assert.True(t, ok, "service %s", name) {
			continue
		}
		assert.Equal(t, want.command, s.Command, name)
		for _, want := range want.ports {
			// "8000:8000" or bound to one host address, "127.0.0.1:8000:8000".
			published := slices.ContainsFunc(s.Ports, func(p string) bool {
				return p == want+":"+want || strings.HasSuffix(p, ":"+want+":"+want)
			})
			assert.True(t, published, "%s publishes port %s: %v", name, want, s.Ports)
		}
		if name != "migrate" {
			assert.NotEmpty(t, s.DependsOn, "%s waits for what it needs", name)
		}
	}
	for _, name := range []string{"api", "recommender"} {
		assert.Equal(t, "service_completed_successfully", f.Services[name].DependsOn["migrate"].Condition, "%s starts after the migrations", name)
	}
	// The shared environment names variables the app reads.
	for k := range f.Shop.Environment {
		_, ok := d[k]
		assert.True(t, ok, "x-shop environment %s is not a variable of internal/config", k)
	}
	// Behind the gateway the API takes the client's address from the
	// X-Forwarded-For the gateway sets, and keeps the shared environment.
	for _, name := range []string{"api", "recommender"} {
		env := f.Services[name].Environment
		assert.Equal(t, "true", env["TRUST_PROXY_HEADERS"], name)
		assert.Equal(t, f.Shop.Environment["DATABASE_URL"], env["DATABASE_URL"], name)
		for _, p := range f.Services[name].Ports {
			assert.True(t, strings.HasPrefix(p, "127.0.0.1:"), "%s trusts X-Forwarded-For, so its port %s stays on the host's loopback", name, p)
		}
	}

	// The gateway's container fills every variable of deploy/nginx's template.
	tmpl, err := os.ReadFile("nginx/gateway.conf.template")
	require.NoError(t, err)
	gw := f.Services["gateway"]
	for _, m := range regexp.MustCompile(`\$\{(GATEWAY_[A-Z_]+)\}`).FindAllStringSubmatch(string(tmpl), -1) {
		assert.NotEmpty(t, gw.Environment[m[1]], "gateway environment sets %s", m[1])
	}
	// The gateway's upstreams are the roles' listeners: the storefront is
	// the API's web listener.
	for v, addr := range map[string]string{
		"GATEWAY_API_SERVERS":         "api:" + port(t, d["HTTP_ADDR"]),
		"GATEWAY_WEB_SERVERS":         "api:" + port(t, d["WEB_ADDR"]),
		"GATEWAY_RECOMMENDER_SERVERS": "recommender:" + port(t, d["RECOMMENDER_ADDR"]),
	} {
		assert.Contains(t, gw.Environment[v], "server "+addr+" ", v)
	}
}
