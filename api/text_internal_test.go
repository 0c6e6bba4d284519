package api

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/telemetry"
)

// requestStringFields calls fn for every string field reachable from the
// request message of every RPC of the shop's services.
func requestStringFields(fn func(fd protoreflect.FieldDescriptor)) {
	seen := map[protoreflect.FullName]bool{}
	var walk func(md protoreflect.MessageDescriptor)
	walk = func(md protoreflect.MessageDescriptor) {
		if seen[md.FullName()] {
			return
		}
		seen[md.FullName()] = true
		fields := md.Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			switch {
			case fd.IsMap():
				for _, x := range []protoreflect.FieldDescriptor{fd.MapKey(), fd.MapValue()} {
					if x.Kind() == protoreflect.StringKind {
						fn(x)
					} else if x.Message() != nil {
						walk(x.Message())
					}
				}
			case fd.Kind() == protoreflect.StringKind:
				fn(fd)
			case fd.Message() != nil:
				walk(fd.Message())
			}
		}
	}
	protoregistry.GlobalFiles.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(f.Package()), "shop.") {
			return true
		}
		for i := range f.Services().Len() {
			methods := f.Services().Get(i).Methods()
			for j := range methods.Len() {
				walk(methods.Get(j).Input())
			}
		}
		return true
	})
}

// A request field that holds free text over several lines must be listed
// in multiLineFields, or a line feed in it is refused; a listed field must
// still exist.
func TestLongTextFieldsAreMultiLine(t *testing.T) {
	longText := regexp.MustCompile(`(^|_)(description|reason|note|message|comment|address)$`)
	found := map[protoreflect.FullName]bool{}
	requestStringFields(func(fd protoreflect.FieldDescriptor) {
		found[fd.FullName()] = true
		if longText.MatchString(string(fd.Name())) {
			assert.Equal(t, multiLine, textKindOf(fd), "%s looks like free text: add it to multiLineFields", fd.FullName())
		}
	})
	require.NotEmpty(t, found)
	for _, list := range []map[protoreflect.FullName]bool{multiLineFields, searchTextFields} {
		for name := range list {
			assert.True(t, found[name], "%s is no request string field", name)
		}
	}
}

func TestSecretsAreNeverTrimmed(t *testing.T) {
	var secrets []string
	requestStringFields(func(fd protoreflect.FieldDescriptor) {
		if textKindOf(fd) != secret {
			return
		}
		secrets = append(secrets, string(fd.Name()))
		got, err := cleanText(fd, "  pass word  ", "x")
		require.NoError(t, err)
		assert.Equal(t, "  pass word  ", got, "%s is passed on as given", fd.FullName())
		_, err = cleanText(fd, "pass\x00word", "x")
		assert.Error(t, err, "%s still refuses NUL", fd.FullName())
	})
	assert.Subset(t, secrets, []string{"password", "current_password", "new_password", "refresh_token"})
}

// A data exception or integrity violation that gets past the edge and the
// domain answers 400, not 500, and is logged with the request id.
func TestPostgresDataErrorsAreNotInternal(t *testing.T) {
	pool := dbtest.New(t)
	ctx := telemetry.WithRequestID(context.Background(), "req-pg-1")
	var logs strings.Builder
	log := telemetry.NewLogger(&logs, slog.LevelInfo, "json")

	_, err := pool.Exec(ctx, `SELECT 1 / 0`)
	require.Error(t, err)
	ce := toConnect(ctx, log, "/shop.test.v1.Test/Divide", err)
	assert.Equal(t, connect.CodeInvalidArgument, ce.(*connect.Error).Code())
	assert.Contains(t, ce.Error(), "quote request id req-pg-1")
	assert.NotContains(t, ce.Error(), "division", "no database internals")

	_, err = pool.Exec(ctx, `CREATE TEMP TABLE edge_check (n int CHECK (n > 0)); INSERT INTO edge_check VALUES (0)`)
	require.Error(t, err)
	ce = toConnect(ctx, log, "/shop.test.v1.Test/Insert", err)
	assert.Equal(t, connect.CodeFailedPrecondition, ce.(*connect.Error).Code())

	assert.Contains(t, logs.String(), `"request_id":"req-pg-1"`)
	assert.Contains(t, logs.String(), `"sqlstate":"22012"`)
	assert.Contains(t, logs.String(), `"sqlstate":"23514"`)
}
