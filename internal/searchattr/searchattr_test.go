package searchattr_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/searchattr"
)

// The stack registers the search attributes from deploy/search-attributes,
// which must be All as generated.
func TestStackRegistersEveryAttribute(t *testing.T) {
	b, err := os.ReadFile("../../deploy/search-attributes")
	require.NoError(t, err)
	assert.Equal(t, searchattr.File(), string(b), "deploy/search-attributes is stale: run `go generate ./internal/searchattr`")
}

// docker-compose.yml's dev server cannot read that file: its flags must
// name the same attributes.
func TestComposeRegistersEveryAttribute(t *testing.T) {
	b, err := os.ReadFile("../../docker-compose.yml")
	require.NoError(t, err)
	var flags []string
	for _, m := range regexp.MustCompile(`--search-attribute=(\S+)`).FindAllStringSubmatch(string(b), -1) {
		flags = append(flags, m[1])
	}
	var want []string
	for line := range strings.Lines(searchattr.File()) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			want = append(want, line)
		}
	}
	assert.ElementsMatch(t, want, flags, "docker-compose.yml's temporal --search-attribute flags")
}
