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
	"github.com/shopkit/shop/gen/shop/order/v1/orderv1connect"
	"github.com/shopkit/shop/internal/carrier"
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
	for _, schema := range schemas {
		nullableMessages(schema)
	}
	integerStrings(schemas)
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

	components["responses"] = errorResponses()

	// REST operations by operationId, which protoc-gen-openapi names
	// Service_Method, for every binding of the method: the second and later
	// get a suffix, as operation IDs must be unique.
	type restOp struct {
		op     map[string]any
		method string
	}
	rest := map[string][]restOp{}
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		item, _ := paths[p].(map[string]any)
		for _, m := range slices.Sorted(maps.Keys(item)) {
			if op, ok := item[m].(map[string]any); ok {
				id, _ := op["operationId"].(string)
				rest[id] = append(rest[id], restOp{op, m})
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
				// A method is a read when all its REST routes are GETs.
				write := len(rest[id]) == 0
				for _, r := range rest[id] {
					write = write || r.method != "get"
					description, _ = r.op["description"].(string)
					secure(r.op, rule, known, access)
					integerParams(r.op, md.Input())
					_, body := r.op["requestBody"]
					documentErrors(r.op, errorCodes(procedure, md.Input(), rule, known, r.method != "get", body), "")
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
				documentErrors(op, errorCodes(procedure, md.Input(), rule, known, write, true), "Connect")
				paths[procedure] = map[string]any{"post": op}
			}
		}
		return true
	})
	addHTTPRoutes(paths)
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

// The errors each operation documents. Every status comes with the API's
// real error JSON: google.rpc.Status on REST routes, the Connect protocol's
// error on Connect paths (README, "Errors").
var errorStatuses = []struct {
	status, description string
	retryAfter          string // "required" or "optional": the Retry-After header
}{
	{"400", "Invalid argument (code 3): the message starts with the field at fault (`limit: must be between 1 and 100`), " +
		"several joined by \"; \", and the details hold a google.rpc.BadRequest naming each; also a malformed body " +
		"and a failed precondition (code 9: not enough stock, order past cancelling, ...).", ""},
	{"401", "Unauthenticated (code 16): a missing, malformed, expired or revoked access token (even on a public " +
		"operation, a token sent must be valid), or a wrong password.", ""},
	{"403", "Permission denied (code 7): the caller's role may not call this operation.", ""},
	{"404", "Not found (code 5): an id in the request names nothing the caller may see.", ""},
	{"409", "Already exists (code 6: a username, email, SKU or code taken; an Idempotency-Key reused with another body) " +
		"or aborted (code 10: the write met a concurrent change; retry it).", ""},
	{"413", "The request body is over 1 MiB (code 3; gRPC and gRPC-Web: resource_exhausted).", ""},
	{"415", "The body is not JSON, or is compressed on a REST route (code 3).", ""},
	{"429", "Resource exhausted (code 8): over a rate limit, or the login is locked; retry after Retry-After seconds.", "required"},
	{"503", "Unavailable (code 14): PostgreSQL, Redis or Temporal cannot be reached; retry (after Retry-After seconds when sent).", "optional"},
}

// errorResponses are the shared error responses: "Error<status>" for REST
// routes, "ConnectError<status>" for Connect paths.
func errorResponses() map[string]any {
	out := map[string]any{}
	for _, e := range errorStatuses {
		for prefix, schema := range map[string]string{"Error": "google.rpc.Status", "ConnectError": "connect.error"} {
			r := map[string]any{"description": e.description, "content": map[string]any{"application/json": map[string]any{
				"schema": map[string]any{"$ref": "#/components/schemas/" + schema}}}}
			if prefix == "ConnectError" && e.status == "415" {
				// Connect answers a body it cannot read with no body of its own.
				r = map[string]any{"description": "The body is not of a content type the Connect protocol takes " +
					"(application/json or application/proto); the answer has no body, and Accept-Post lists them."}
			}
			if e.retryAfter != "" {
				r["headers"] = map[string]any{"Retry-After": map[string]any{
					"description": "Seconds to wait before trying again.", "required": e.retryAfter == "required",
					"schema": map[string]any{"type": "integer", "minimum": 1}}}
			}
			out[prefix+e.status] = r
		}
	}
	return out
}

// errorCodes are the statuses besides 200 that an operation can answer, by
// the simplest rules that hold for the whole API:
//   - any call: 400 (its input is checked), 401 (a token sent is checked),
//     429 (rate limits) and 503 (a dependency down);
//   - 403 where the access table requires a role (or a rule in forbids);
//   - 404 where the request names something by id;
//   - 409 on writes (a unique value taken, a concurrent change);
//   - 413 and 415 where the call has a body.
func errorCodes(procedure string, input protoreflect.MessageDescriptor, r rule, known, write, body bool) []string {
	codes := []string{"400", "401"}
	if !known || len(r.roles) > 0 || forbids[procedure] {
		codes = append(codes, "403")
	}
	if namesByID(input, 0) {
		codes = append(codes, "404")
	}
	if write {
		codes = append(codes, "409")
	}
	if body {
		codes = append(codes, "413", "415")
	}
	return append(codes, "429", "503")
}

// forbids are the operations open to every signed-in user that refuse some
// of their inputs to customers.
var forbids = map[string]bool{
	orderv1connect.OrderServiceListOrdersProcedure: true, // user_id: only staff see other customers' orders
}

// namesByID says whether a request message (or one it holds) has an id
// field: an id that names nothing is answered 404.
func namesByID(md protoreflect.MessageDescriptor, depth int) bool {
	if depth > 3 || strings.HasPrefix(string(md.FullName()), "google.") {
		return false
	}
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		name := string(fd.Name())
		if name == "id" || strings.HasSuffix(name, "_id") || strings.HasSuffix(name, "_ids") {
			return true
		}
		if fd.Message() != nil && !fd.IsMap() && namesByID(fd.Message(), depth+1) {
			return true
		}
	}
	return false
}

// documentErrors adds the error responses of codes to op; prefix picks the
// Connect variants.
func documentErrors(op map[string]any, codes []string, prefix string) {
	responses, _ := op["responses"].(map[string]any)
	for _, c := range codes {
		responses[c] = map[string]any{"$ref": "#/components/responses/" + prefix + "Error" + c}
	}
}

// addHTTPRoutes documents the routes served outside google.api.http: the
// login alias, the CSV answer of sales analytics, the image upload and the
// images, the webhooks and the probes.
func addHTTPRoutes(paths map[string]any) {
	obj := func(props map[string]any, required ...string) map[string]any {
		s := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			s["required"] = required
		}
		return s
	}
	str := map[string]any{"type": "string"}
	jsonBody := func(description string, schema map[string]any) map[string]any {
		return map[string]any{"description": description, "content": map[string]any{"application/json": map[string]any{"schema": schema}}}
	}

	// POST /auth/login is POST /api/auth/login, as the original API's
	// troubleshooting guide calls it.
	if item, ok := paths["/api/auth/login"].(map[string]any); ok {
		if login, ok := item["post"].(map[string]any); ok {
			alias := maps.Clone(login)
			alias["operationId"] = "AuthService_Login_Alias"
			alias["summary"] = "Alias of POST /api/auth/login"
			paths["/auth/login"] = map[string]any{"post": alias}
		}
	}
	// Sales analytics answer CSV for Accept: text/csv or "format": "csv".
	for _, p := range []string{"/analytics", "/api/analytics"} {
		item, _ := paths[p].(map[string]any)
		op, _ := item["post"].(map[string]any)
		if ok, _ := op["responses"].(map[string]any)["200"].(map[string]any); ok != nil {
			content, _ := ok["content"].(map[string]any)
			content["text/csv"] = map[string]any{"schema": map[string]any{"type": "string",
				"description": "One line per row, a header first (Accept: text/csv, or \"format\": \"csv\")."}}
		}
	}

	webhookAnswer := jsonBody("Handled: received is true.", obj(map[string]any{
		"received": map[string]any{"type": "boolean"}, "message": str, "ignored": str}, "received"))
	refused := func(description string) map[string]any {
		return jsonBody(description, obj(map[string]any{"received": map[string]any{"type": "boolean", "const": false},
			"message": str}, "received"))
	}
	webhook := func(id, summary, header, headerDescription string, body map[string]any) map[string]any {
		return map[string]any{"post": map[string]any{
			"tags": []any{"Webhooks"}, "operationId": id, "summary": summary, "security": []any{},
			"description": "Authenticated by the signature header, not by a token; an event already received is " +
				"acknowledged again and not applied twice. Any answer but 200 is delivered again later.",
			"parameters": []any{map[string]any{"name": header, "in": "header", "required": true,
				"description": headerDescription, "schema": map[string]any{"type": "string", "pattern": "^t=\\d+,(.*,)?v1=[0-9a-f]+"}}},
			"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": body}}},
			"responses": map[string]any{
				"200": webhookAnswer,
				"400": refused("A signature that does not match (or is older than 5 minutes), a body over its limit, or an event that cannot be read."),
				"503": refused("The shop cannot take the event now (or the webhook is not configured); it is delivered again."),
			},
		}}
	}
	signature := "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\"> keyed with "
	paths["/webhooks/stripe"] = webhook("Webhooks_Stripe", "Stripe events (payment_intent.succeeded, payment_failed, canceled, charge.refunded, ...)",
		"Stripe-Signature", signature+"STRIPE_WEBHOOK_SECRET, as Stripe signs.", obj(map[string]any{
			"id": str, "type": str, "created": map[string]any{"type": "integer"},
			"data": obj(map[string]any{"object": map[string]any{"type": "object"}}),
		}, "id", "type", "data"))
	paths["/webhooks/carrier"] = webhook("Webhooks_Carrier", "Carrier tracking scans (README, \"Carrier tracking webhook\")",
		carrier.SignatureHeader, signature+"CARRIER_WEBHOOK_SECRET.", obj(map[string]any{
			"id": map[string]any{"type": "string", "minLength": 1, "maxLength": 200}, "type": str,
			"created": map[string]any{"type": "integer"},
			"data": obj(map[string]any{
				"carrier":         map[string]any{"type": "string", "minLength": 1},
				"tracking_number": map[string]any{"type": "string", "minLength": 1, "maxLength": 100},
				"status":          map[string]any{"type": "string", "enum": []any{"in_transit", "out_for_delivery", "delivered", "exception"}},
				"description":     str,
				"occurred_at":     map[string]any{"type": "string", "format": "date-time"},
			}, "carrier", "tracking_number", "status", "occurred_at"),
		}, "id", "data"))

	// The image upload (multipart or a raw body) and the images it serves.
	imageRef := map[string]any{"$ref": "#/components/schemas/shop.catalog.v1.ProductImage"}
	binary := map[string]any{"type": "string", "contentMediaType": "application/octet-stream"}
	upload := map[string]any{
		"tags": []any{"CatalogService"}, "operationId": "CatalogService_UploadProductImage",
		"summary":  "UploadProductImage uploads a product image (staff, admin).",
		"security": []any{map[string]any{"bearer": []any{}}},
		"description": "The file is checked before anything is stored: its type is sniffed from its bytes (JPEG, PNG, " +
			"WebP or GIF, and the declared type must match), its size is at most IMAGE_MAX_BYTES and its pixel count, " +
			"read from its header before decoding, at most IMAGE_MAX_PIXELS. The image is answered in status processing; " +
			"the ProcessProductImage workflow makes its variants and marks it ready. The same file uploaded again to " +
			"the product answers the image already recorded (200).\n\nRequires a bearer token of role admin or staff.",
		"parameters": []any{
			map[string]any{"name": "product_id", "in": "path", "required": true,
				"schema": map[string]any{"type": "string", "pattern": "^-?[0-9]+$"}},
			map[string]any{"name": "alt_text", "in": "query", "description": "Alt text, with a raw image body.",
				"schema": map[string]any{"type": "string", "maxLength": 300}},
		},
		"requestBody": map[string]any{"required": true, "content": map[string]any{
			"multipart/form-data": map[string]any{"schema": obj(map[string]any{
				"file":     map[string]any{"type": "string", "contentMediaType": "image/*", "description": "The image; its part's Content-Type must be image/jpeg, image/png, image/webp or image/gif."},
				"alt_text": map[string]any{"type": "string", "maxLength": 300},
			}, "file")},
			"image/jpeg": map[string]any{"schema": binary}, "image/png": map[string]any{"schema": binary},
			"image/webp": map[string]any{"schema": binary}, "image/gif": map[string]any{"schema": binary},
		}},
		"responses": map[string]any{
			"200": jsonBody("The same file was uploaded to the product before: that image.", imageRef),
			"201": jsonBody("Recorded, in status processing.", imageRef),
		},
	}
	documentErrors(upload, []string{"400", "401", "403", "404", "409", "413", "415", "429", "503"}, "")
	if item, ok := paths["/api/products/{product_id}/images"].(map[string]any); ok {
		item["post"] = upload
	} else {
		paths["/api/products/{product_id}/images"] = map[string]any{"post": upload}
	}
	image := func(description, contentType string) map[string]any {
		return map[string]any{"description": description, "content": map[string]any{contentType: map[string]any{"schema": binary}}}
	}
	paths["/images/{name}"] = map[string]any{"get": map[string]any{
		"tags": []any{"CatalogService"}, "operationId": "Images_Get", "security": []any{},
		"summary": "A product image variant, as named in a ProductImage's URLs.",
		"description": "The name is the SHA-256 of the content, so the answer never changes: it is served with " +
			"Cache-Control: public, max-age=31536000, immutable and an ETag.",
		"parameters": []any{map[string]any{"name": "name", "in": "path", "required": true,
			"schema": map[string]any{"type": "string", "pattern": "^[0-9a-f]{64}\\.(webp|jpg|png)$"}}},
		"responses": map[string]any{
			"200": map[string]any{"description": "The image.", "content": map[string]any{
				"image/webp": map[string]any{"schema": binary}, "image/jpeg": map[string]any{"schema": binary},
				"image/png": map[string]any{"schema": binary}}},
			"304": map[string]any{"description": "Not modified (If-None-Match)."},
			"404": image("No such image.", "text/plain"),
		},
	}}

	probe := func(id, summary string, responses map[string]any) map[string]any {
		return map[string]any{"get": map[string]any{"tags": []any{"Health"}, "operationId": id, "summary": summary,
			"security": []any{}, "responses": responses}}
	}
	paths["/healthz"] = probe("Health_Live", "Liveness: the process answers.", map[string]any{
		"200": jsonBody("Alive.", obj(map[string]any{"status": map[string]any{"type": "string", "const": "ok"}}, "status")),
	})
	ready := obj(map[string]any{"ready": map[string]any{"type": "boolean"},
		"checks": map[string]any{"type": "object", "description": "Each dependency: \"ok\" or why not.",
			"additionalProperties": str}}, "ready", "checks")
	paths["/readyz"] = probe("Health_Ready", "Readiness: every dependency answers (within 3 s).", map[string]any{
		"200": jsonBody("Ready.", ready),
		"503": jsonBody("A dependency does not answer.", ready),
	})
}

// nullableMessages lets the message-typed fields of a schema be null: the
// API writes every field (protojson EmitUnpopulated), an unset message
// (a Timestamp too) as null, and reads null as unset.
func nullableMessages(schema any) {
	s, _ := schema.(map[string]any)
	props, _ := s["properties"].(map[string]any)
	for name, p := range props {
		p, _ := p.(map[string]any)
		switch {
		case p["$ref"] != nil:
			null := map[string]any{"anyOf": []any{map[string]any{"$ref": p["$ref"]}, map[string]any{"type": "null"}}}
			if d, ok := p["description"]; ok {
				null["description"] = d
			}
			props[name] = null
		case p["allOf"] != nil: // a message field with a description of its own
			p["anyOf"] = []any{map[string]any{"allOf": p["allOf"]}, map[string]any{"type": "null"}}
			delete(p, "allOf")
		case p["type"] == "string" && p["format"] == "date-time":
			p["type"] = []any{"string", "null"}
		}
	}
}

// int64Pattern is what a 64-bit integer looks like in JSON: a string of
// digits (the proto3 JSON mapping; requests may send a number too).
const int64Pattern = "^-?[0-9]+$"

func is64(fd protoreflect.FieldDescriptor) bool {
	switch fd.Kind() {
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return true
	}
	return false
}

// integerStrings gives the 64-bit integer fields of every message schema
// their pattern, so a client (or a fuzzer) knows "12" from "twelve".
func integerStrings(schemas map[string]any) {
	protoregistry.GlobalFiles.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		var visit func(protoreflect.MessageDescriptors)
		visit = func(msgs protoreflect.MessageDescriptors) {
			for i := range msgs.Len() {
				md := msgs.Get(i)
				visit(md.Messages())
				schema, _ := schemas[string(md.FullName())].(map[string]any)
				props, _ := schema["properties"].(map[string]any)
				for j := range md.Fields().Len() {
					fd := md.Fields().Get(j)
					p, _ := props[string(fd.Name())].(map[string]any)
					if p == nil || !is64(fd) {
						continue
					}
					if fd.IsList() {
						p, _ = p["items"].(map[string]any)
					}
					if p != nil && p["type"] == "string" {
						p["pattern"] = int64Pattern
					}
				}
			}
		}
		visit(f.Messages())
		return true
	})
}

// integerParams does the same for the path and query parameters of a REST
// operation, named after the request's fields ("a.b" for a nested one).
func integerParams(op map[string]any, input protoreflect.MessageDescriptor) {
	params, _ := op["parameters"].([]any)
	for _, p := range params {
		p, _ := p.(map[string]any)
		name, _ := p["name"].(string)
		md := input
		var fd protoreflect.FieldDescriptor
		for part := range strings.SplitSeq(name, ".") {
			if md == nil {
				fd = nil
				break
			}
			if fd = md.Fields().ByName(protoreflect.Name(part)); fd == nil {
				break
			}
			md = fd.Message()
		}
		if fd == nil || !is64(fd) {
			continue
		}
		schema, _ := p["schema"].(map[string]any)
		if fd.IsList() {
			schema, _ = schema["items"].(map[string]any)
		}
		if schema != nil && schema["type"] == "string" {
			schema["pattern"] = int64Pattern
		}
	}
}
