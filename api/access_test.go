package api

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/shopkit/shop/gen/shop/auth/v1"
	_ "github.com/shopkit/shop/gen/shop/catalog/v1"
)

// httpRoutes are the access table's routes that are no RPC.
var httpRoutes = []string{testPaymentRoute}

// A new RPC without a rule would be refused at run time; this catches it
// at build time instead.
func TestEveryProcedureHasAnAccessRule(t *testing.T) {
	n := 0
	protoregistry.GlobalFiles.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(f.Package()), "shop.") {
			return true
		}
		for i := 0; i < f.Services().Len(); i++ {
			svc := f.Services().Get(i)
			for j := 0; j < svc.Methods().Len(); j++ {
				proc := "/" + string(svc.FullName()) + "/" + string(svc.Methods().Get(j).Name())
				_, ok := accessTable[proc]
				assert.True(t, ok, "%s has no access rule", proc)
				n++
			}
		}
		return true
	})
	assert.Equal(t, len(accessTable)-len(httpRoutes), n, "the access table names only procedures that exist")
	for _, route := range httpRoutes {
		_, ok := accessTable[route]
		assert.True(t, ok, "%s has no access rule", route)
	}
}
