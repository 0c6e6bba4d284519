package main

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWorkflowURLEscapesTheWorkflowID: the link `shop import` prints holds
// the file's path; it used to be printed unescaped, so a file name with a
// space, '#', '?' or '%' made a link to another page.
func TestWorkflowURLEscapesTheWorkflowID(t *testing.T) {
	for _, c := range []struct{ ui, namespace, id, want string }{
		{"http://127.0.0.1:8233", "default", "catalog-import-builtin:demo",
			"http://127.0.0.1:8233/namespaces/default/workflows/catalog-import-builtin:demo"},
		{"http://127.0.0.1:8233/", "default", "catalog-import-/home/ann/my catalog #2?.csv",
			"http://127.0.0.1:8233/namespaces/default/workflows/catalog-import-%2Fhome%2Fann%2Fmy%20catalog%20%232%3F.csv"},
		{"https://temporal.example/ui", "shop prod", "catalog-import-/data/100%/ünï;x.json",
			"https://temporal.example/ui/namespaces/shop%20prod/workflows/catalog-import-%2Fdata%2F100%25%2F%C3%BCn%C3%AF%3Bx.json"},
	} {
		got := workflowURL(c.ui, c.namespace, c.id)
		assert.Equal(t, c.want, got)

		// Read back, the link names exactly that namespace and workflow.
		u, err := url.Parse(got)
		require.NoError(t, err)
		assert.Empty(t, u.RawQuery, got)
		assert.Empty(t, u.Fragment, got)
		parts := strings.Split(u.EscapedPath(), "/")
		require.GreaterOrEqual(t, len(parts), 4, got)
		ns, err := url.PathUnescape(parts[len(parts)-3])
		require.NoError(t, err)
		id, err := url.PathUnescape(parts[len(parts)-1])
		require.NoError(t, err)
		assert.Equal(t, c.namespace, ns)
		assert.Equal(t, c.id, id)
		assert.Equal(t, "workflows", parts[len(parts)-2])
	}
}
