package api_test

import (
	"cmp"
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/identity"
)

// schemathesisBinary is schemathesis from deploy/schemathesis/install.sh
// (in SCHEMATHESIS_VENV, default .data/schemathesis; SCHEMATHESIS overrides
// the path); a missing one fails the test under `make test` and in CI, and
// skips it elsewhere.
func schemathesisBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("SCHEMATHESIS")
	if bin == "" {
		bin = filepath.Join(cmp.Or(os.Getenv("SCHEMATHESIS_VENV"), filepath.Join("..", ".data", "schemathesis")), "bin", "schemathesis")
	}
	abs, err := filepath.Abs(bin)
	require.NoError(t, err)
	if _, err := os.Stat(abs); err != nil {
		msg := "schemathesis is not installed at " + abs + ": `deploy/schemathesis/install.sh` installs it"
		if os.Getenv("CI") != "" || os.Getenv("TEST_REQUIRE_TOOLS") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return abs
}

// TestSchemathesis fuzzes every operation of /openapi.json with
// schemathesis against the real API (workflows on the test Temporal server,
// a database schema of its own), signed in as a customer and as an admin:
// no answer may be a 5xx, take over 5 s, use a status the document does not
// list for the operation, or break its documented schema.
// SCHEMATHESIS_MAX_EXAMPLES (default 10) bounds the fuzzed cases per
// operation; the coverage phase adds each field's boundary and invalid values.
func TestSchemathesis(t *testing.T) {
	if raceDetector {
		// Thousands of requests through a race-instrumented server take
		// too long; deploy/test.sh runs this test on its own without -race.
		t.Skip("run without -race: go test -count=1 -run TestSchemathesis ./api/")
	}
	if testing.Short() {
		t.Skip("fuzzing the API takes minutes")
	}
	bin := schemathesisBinary(t)
	examples := 10
	if v := os.Getenv("SCHEMATHESIS_MAX_EXAMPLES"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "SCHEMATHESIS_MAX_EXAMPLES")
		examples = n
	}
	f := newServerWith(t, options{worker: true, tokenTTL: time.Hour})
	reports := artifactsDir(t)
	for _, who := range []struct {
		name string
		role identity.Role
	}{{"customer", identity.RoleCustomer}, {"admin", identity.RoleAdmin}} {
		t.Run(who.name, func(t *testing.T) {
			token := session(t, f, "fuzz-"+who.name, who.role)
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			args := []string{"run", f.url + "/openapi.json",
				"--checks", "not_a_server_error,response_schema_conformance,status_code_conformance",
				"--phases", "examples,coverage,fuzzing", "--max-examples", strconv.Itoa(examples), "--seed", "1",
				"--max-response-time", "5", "--request-timeout", "10", "--workers", "1",
				"--suppress-health-check", "all", "--no-shrink",
				"--report", "junit", "--report-junit-path", filepath.Join(reports, "schemathesis-"+who.name+".xml"),
			}
			// schemathesis takes one pattern: the last flag wins.
			args = append(args, "--exclude-operation-id-regex", strings.Join(slices.Sorted(maps.Keys(excluded)), "|"))
			cmd := exec.CommandContext(ctx, bin, append(args, "-H", "Authorization: Bearer "+token)...)
			cmd.Env = append(os.Environ(), "NO_COLOR=1", "SCHEMATHESIS_HOOKS=")
			out, err := cmd.CombinedOutput()
			log := filepath.Join(reports, "schemathesis-"+who.name+".log")
			require.NoError(t, os.WriteFile(log, out, 0o644))
			t.Logf("schemathesis as %s: %s (JUnit report beside it)", who.name, log)
			require.NoError(t, err, "schemathesis found problems:\n%s", tail(string(out), 200))
		})
	}
}

// excluded are the operations the fuzzer leaves alone (operation ID
// patterns), each for a reason.
var excluded = map[string]string{
	// Logout ends every session of the caller, the fuzzer's own included:
	// every later call would be refused 401. auth_test.go covers it.
	"^AuthService_Logout": "ends the fuzzer's session",
	// So does SetUserRole when it picks the fuzzer's own account (an admin
	// may re-set their own role); auth_test.go covers it.
	"^AuthService_SetUserRole": "ends the sessions of the account it changes",
	// The test server has no carrier configured, so the webhook answers
	// 503 by design; carrier_webhook_test.go covers it configured.
	"^Webhooks_Carrier$": "not configured on the test server",
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
