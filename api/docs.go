package api

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"sigs.k8s.io/yaml"

	"github.com/shopkit/shop/gen/openapi"
)

// The API reference: GET /openapi.json is the OpenAPI document generated
// from proto/ (gen/openapi), completed here with what the protos do not say;
// GET /docs is Swagger UI (swagger-ui-dist 5.35.0, Apache-2.0, committed in
// docs/dist by `make docs-bundle`) reading it, all served from the binary.

//go:embed docs/index.html docs/init.js docs/dist/swagger-ui-bundle.js docs/dist/swagger-ui.css
var docsFS embed.FS

// docsCSP lets the page run its own scripts and styles only. Swagger UI sets
// style attributes, hence 'unsafe-inline' for styles (never for scripts).
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// handleDocs registers GET /openapi.json, GET /docs and the UI's files.
func handleDocs(mux *http.ServeMux) error {
	doc, err := openAPIDocument()
	if err != nil {
		return fmt.Errorf("openapi document: %w", err)
	}
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-cache")
		_, _ = w.Write(doc)
	})

	// The files are served under names carrying their hash, so browsers may
	// keep them for a year: a new build changes the names.
	assets := map[string][]byte{}
	names := map[string]string{}
	for _, f := range []string{"docs/dist/swagger-ui-bundle.js", "docs/dist/swagger-ui.css", "docs/init.js"} {
		b, err := docsFS.ReadFile(f)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(f)
		name := strings.TrimSuffix(path.Base(f), ext) + "." + hex.EncodeToString(sum[:6]) + ext
		assets[name] = b
		// Relative to /docs, so the page also works under a path prefix.
		names[f] = "docs/assets/" + name
	}
	page, err := template.ParseFS(docsFS, "docs/index.html")
	if err != nil {
		return err
	}
	var html bytes.Buffer
	if err := page.Execute(&html, map[string]string{"Bundle": names["docs/dist/swagger-ui-bundle.js"],
		"Style": names["docs/dist/swagger-ui.css"], "Init": names["docs/init.js"]}); err != nil {
		return err
	}
	mux.HandleFunc("GET /docs", func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", docsCSP)
		_, _ = w.Write(html.Bytes())
	})
	mux.HandleFunc("GET /docs/assets/{file}", func(w http.ResponseWriter, r *http.Request) {
		b, ok := assets[r.PathValue("file")]
		if !ok {
			notFound(w, r)
			return
		}
		h := w.Header()
		if path.Ext(r.PathValue("file")) == ".js" {
			h.Set("Content-Type", "text/javascript; charset=utf-8")
		} else {
			h.Set("Content-Type", "text/css; charset=utf-8")
		}
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		_, _ = w.Write(b)
	})
	return nil
}

// openAPIDocument turns the generated OpenAPI 3.0 document into the served
// OpenAPI 3.1 one, adding what protoc-gen-openapi cannot know: who may call
// each operation (accessTable) and the Connect RPC of every method.
func openAPIDocument() ([]byte, error) {
	js, err := yaml.YAMLToJSON(openapi.YAML)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil {
		return nil, err
	}
	doc["openapi"] = "3.1.0"
	toJSONSchema2020(doc)
	paths, _ := doc["paths"].(map[string]any)
	components, _ := doc["components"].(map[string]any)
	schemas, _ := components["schemas"].(map[string]any)
	if paths == nil || schemas == nil {
		return nil, fmt.Errorf("no paths or schemas in gen/openapi/openapi.yaml")
	}
	components["securitySchemes"] = map[string]any{
		"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
			"description": "The access token from POST /api/auth/login."},
	}
	schemas["connect.error"] = map[string]any{
		"type":        "object",
		"description": "A Connect error: https://connectrpc.com/docs/protocol#error-end-stream",
		"properties": map[string]any{
			"code":    map[string]any{"type": "string", "description": "The Connect code, e.g. invalid_argument."},
			"message": map[string]any{"type": "string"},
			"details": map[string]any{"type": "array", "items": map[string]any{"type": "object"}},
		},
	}

	// REST operations by operationId, which protoc-gen-openapi names
	// Service_Method, for every binding of the method: the second and later
	// get a suffix, as operation IDs must be unique.
	rest := map[string][]map[string]any{}
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		item, _ := paths[p].(map[string]any)
		for _, m := range slices.Sorted(maps.Keys(item)) {
			if op, ok := item[m].(map[string]any); ok {
				id, _ := op["operationId"].(string)
				rest[id] = append(rest[id], op)
				if n := len(rest[id]); n > 1 {
					op["operationId"] = id + "_" + strconv.Itoa(n)
				}
			}
		}
	}
	ref := func(md protoreflect.MessageDescriptor) map[string]any {
		if _, ok := schemas[string(md.FullName())]; ok {
			return map[string]any{"$ref": "#/components/schemas/" + string(md.FullName())}
		}
		return map[string]any{"type": "object"}
	}
	protoregistry.GlobalFiles.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(f.Package()), "shop.") {
			return true
		}
		for i := range f.Services().Len() {
			sd := f.Services().Get(i)
			for j := range sd.Methods().Len() {
				md := sd.Methods().Get(j)
				procedure := "/" + string(sd.FullName()) + "/" + string(md.Name())
				id := string(sd.Name()) + "_" + string(md.Name())
				rule, known := accessTable[procedure]
				access := accessNote(rule, known)
				var description string
				for _, op := range rest[id] {
					description, _ = op["description"].(string)
					secure(op, rule, known, access)
				}
				if md.IsStreamingClient() || md.IsStreamingServer() {
					continue // not callable with a plain JSON POST
				}
				op := map[string]any{
					"tags":        []any{string(sd.Name())},
					"summary":     "Connect: " + string(md.Name()),
					"description": description,
					"operationId": id + "_Connect",
					"requestBody": map[string]any{"required": true, "content": map[string]any{
						"application/json": map[string]any{"schema": ref(md.Input())}}},
					"responses": map[string]any{
						"200": map[string]any{"description": "OK", "content": map[string]any{
							"application/json": map[string]any{"schema": ref(md.Output())}}},
						"default": map[string]any{"description": "Connect error", "content": map[string]any{
							"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/connect.error"}}}},
					},
				}
				secure(op, rule, known, access)
				paths[procedure] = map[string]any{"post": op}
			}
		}
		return true
	})
	return json.Marshal(doc)
}

// accessNote says in words who may call a procedure.
func accessNote(r rule, known bool) string {
	switch {
	case !known:
		return "Refused to every caller."
	case r.public:
		return "Public: no token needed."
	case len(r.roles) == 0:
		return "Requires a signed-in user's bearer token."
	}
	roles := make([]string, len(r.roles))
	for i, role := range r.roles {
		roles[i] = string(role)
	}
	slices.Sort(roles)
	return "Requires a bearer token of role " + strings.Join(roles, " or ") + "."
}

// secure marks an operation with the bearer scheme unless it is public.
func secure(op map[string]any, r rule, known bool, access string) {
	if known && r.public {
		op["security"] = []any{}
	} else {
		op["security"] = []any{map[string]any{"bearer": []any{}}}
	}
	if d, _ := op["description"].(string); d != "" {
		access = d + "\n\n" + access
	}
	op["description"] = access
}

// toJSONSchema2020 rewrites the OpenAPI 3.0 schema keywords that 3.1
// replaced: nullable becomes a "null" type, a boolean exclusive bound the
// bound itself.
func toJSONSchema2020(v any) {
	switch v := v.(type) {
	case map[string]any:
		if n, ok := v["nullable"].(bool); ok {
			delete(v, "nullable")
			if t, ok := v["type"].(string); ok && n {
				v["type"] = []any{t, "null"}
			}
		}
		for _, k := range []string{"Minimum", "Maximum"} {
			if ex, ok := v["exclusive"+k].(bool); ok {
				delete(v, "exclusive"+k)
				if b, ok := v[strings.ToLower(k)]; ok && ex {
					v["exclusive"+k] = b
					delete(v, strings.ToLower(k))
				}
			}
		}
		for _, c := range v {
			toJSONSchema2020(c)
		}
	case []any:
		for _, c := range v {
			toJSONSchema2020(c)
		}
	}
}
