package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/metrics"
)

// restRoute is one google.api.http binding of an RPC.
type restRoute struct {
	// procedure is the RPC's Connect procedure, "/pkg.Service/Method".
	procedure string
	method    string
	// segments of the path template: a literal, or "" for a variable that
	// matches one segment; tail marks a final "**" (or {x=**}) that matches
	// the rest of the path.
	segments []string
	tail     bool
	request  protoreflect.MessageDescriptor
	// body is the rule's body: "" (none), "*" (the whole message) or a field.
	body string
	// bound are the field paths the path template sets.
	bound []string
}

// serviceDescriptor finds a registered service by its full name.
func serviceDescriptor(name string) (protoreflect.ServiceDescriptor, error) {
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", name, err)
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, fmt.Errorf("%s is not a service", name)
	}
	return sd, nil
}

// restRoutes reads every google.api.http binding (additional bindings
// included) of the named services from their descriptors.
func restRoutes(services []string) ([]restRoute, error) {
	var out []restRoute
	for _, name := range services {
		sd, err := serviceDescriptor(name)
		if err != nil {
			return nil, err
		}
		methods := sd.Methods()
		for i := range methods.Len() {
			md := methods.Get(i)
			rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
			if rule == nil {
				continue
			}
			for _, r := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
				if route, ok := parseRESTRoute(r, md.Input()); ok {
					route.procedure = "/" + string(sd.FullName()) + "/" + string(md.Name())
					out = append(out, route)
				}
			}
		}
	}
	return out, nil
}

// parseRESTRoute understands literal segments, "*", "**" and {field},
// {field=*}, {field=**} variables; a template beyond that is left out (the
// transcoder still serves it, unfiltered).
func parseRESTRoute(r *annotations.HttpRule, request protoreflect.MessageDescriptor) (restRoute, bool) {
	route := restRoute{request: request, body: r.GetBody()}
	var tmpl string
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		route.method, tmpl = http.MethodGet, p.Get
	case *annotations.HttpRule_Put:
		route.method, tmpl = http.MethodPut, p.Put
	case *annotations.HttpRule_Post:
		route.method, tmpl = http.MethodPost, p.Post
	case *annotations.HttpRule_Delete:
		route.method, tmpl = http.MethodDelete, p.Delete
	case *annotations.HttpRule_Patch:
		route.method, tmpl = http.MethodPatch, p.Patch
	case *annotations.HttpRule_Custom:
		route.method, tmpl = p.Custom.GetKind(), p.Custom.GetPath()
	default:
		return route, false
	}
	if !strings.HasPrefix(tmpl, "/") || strings.Contains(tmpl, ":") {
		return route, false
	}
	parts := strings.Split(tmpl[1:], "/")
	for i, s := range parts {
		last := i == len(parts)-1
		switch {
		case s == "*":
			route.segments = append(route.segments, "")
		case s == "**" && last:
			route.tail = true
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			field, pattern, _ := strings.Cut(s[1:len(s)-1], "=")
			route.bound = append(route.bound, field)
			switch {
			case pattern == "" || pattern == "*":
				route.segments = append(route.segments, "")
			case pattern == "**" && last:
				route.tail = true
			default:
				return route, false
			}
		case s != "" && !strings.ContainsAny(s, "{}*"):
			route.segments = append(route.segments, s)
		default:
			return route, false
		}
	}
	return route, true
}

func (r *restRoute) matches(method string, segments []string) bool {
	if method != r.method {
		return false
	}
	if len(segments) < len(r.segments) || (!r.tail && len(segments) != len(r.segments)) {
		return false
	}
	for i, s := range r.segments {
		if s != "" && s != segments[i] || s == "" && segments[i] == "" {
			return false
		}
	}
	return true
}

// takesQuery says whether the query parameter key sets a field of the route's
// request message, as the transcoder would resolve it (JSON name first, then
// proto name, through singular message fields), and whether that field is
// left to the query: the path template and the body set the others.
func (r *restRoute) takesQuery(key string) bool {
	if r.body == "*" || key == "" {
		return false
	}
	msg := r.request
	var path []string
	for part := range strings.SplitSeq(key, ".") {
		if msg == nil {
			return false // the previous element is not a message
		}
		fields := msg.Fields()
		fd := fields.ByJSONName(part)
		if fd == nil {
			fd = fields.ByName(protoreflect.Name(part))
		}
		if fd == nil {
			return false
		}
		path = append(path, string(fd.Name()))
		msg = nil
		if !fd.IsList() && !fd.IsMap() {
			msg = fd.Message()
		}
	}
	if r.body != "" && path[0] == r.body {
		return false
	}
	full := strings.Join(path, ".")
	for _, b := range r.bound {
		if full == b || strings.HasPrefix(full, b+".") || strings.HasPrefix(b, full+".") {
			return false
		}
	}
	return true
}

// restResponseField is the response_body field of procedure's REST
// binding, or nil when the route answers with the whole message.
func restResponseField(procedure string) protoreflect.FieldDescriptor {
	service, method, _ := strings.Cut(strings.TrimPrefix(procedure, "/"), "/")
	sd, err := serviceDescriptor(service)
	if err != nil {
		panic(err) // a generated procedure name: cannot happen
	}
	md := sd.Methods().ByName(protoreflect.Name(method))
	rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
	if rule.GetResponseBody() == "" {
		return nil
	}
	return md.Output().Fields().ByName(protoreflect.Name(rule.GetResponseBody()))
}

// restGuard sits in front of the REST transcoder. It checks the caller's
// access to the route's RPC before the body is read (so a caller without
// access gets 401 or 403, whatever the body), drops query parameters that
// set no field of the route's request message (browsers, analytics and
// cache busters add utm_source, _ and the like), and refuses a body on a
// route that takes none, so neither reaches the transcoder as an internal
// error.
type restGuard struct {
	routes []restRoute
	gate   *gate
	next   http.Handler
	// local, when set, answers a GET from memory (see CatalogServer.localREST).
	local func(r *http.Request, procedure string) ([]byte, bool)
}

func (g *restGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	matched := g.match(r)
	if len(matched) == 0 {
		g.serveREST(w, r)
		return
	}
	if proc := matched[0].procedure; g.gate != nil && !slices.ContainsFunc(matched, func(m *restRoute) bool { return m.procedure != proc }) {
		ctx, rule, p, err := g.gate.authorize(r.Context(), proc, r.Header)
		if err != nil {
			writeConnectError(w, toConnect(ctx, g.gate.log, proc, err))
			return
		}
		if g.serveLocal(ctx, w, r, proc, rule, p) {
			return
		}
		// Only the mark goes on: the interceptor, finding it for the same
		// procedure, takes the caller from it instead of asking again.
		r = r.WithContext(context.WithValue(r.Context(), authorizedKey{}, ctx.Value(authorizedKey{})))
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		// The transcoder would inflate it without the 1 MiB bound.
		writeRESTError(w, http.StatusUnsupportedMediaType, connect.NewError(connect.CodeInvalidArgument,
			errors.New("compressed request bodies are not accepted on REST routes; send the JSON as it is")))
		return
	}
	if r.URL.RawQuery != "" {
		var bad string
		if r, bad = filterQuery(r, matched); bad != "" {
			// The transcoder would fail to encode the text for the handler.
			restError(w, bad+": must be valid UTF-8 text")
			return
		}
	}
	takesBody := false
	for _, m := range matched {
		takesBody = takesBody || m.body != ""
	}
	if !takesBody {
		empty, err := emptyBody(r)
		if err != nil {
			restError(w, "could not read the request body")
			return
		}
		if !empty {
			restError(w, r.Method+" "+r.URL.Path+" takes no request body")
			return
		}
		r.Body, r.ContentLength = http.NoBody, 0
	}
	g.serveREST(w, r)
}

// serveLocal answers a body-less GET without a query whose response the
// local cache holds, as the transcoder would, after the rate limit: a hit
// costs no decoding, no encoding and no Redis round trip but the limiter's.
// On a miss the transcoder serves it (and the interceptor applies the limit).
func (g *restGuard) serveLocal(ctx context.Context, w http.ResponseWriter, r *http.Request, proc string, rule rule, p *identity.Principal) bool {
	// A query goes the normal way: it may be refused (see filterQuery).
	if g.local == nil || r.Method != http.MethodGet || r.URL.RawQuery != "" || (r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody) {
		return false
	}
	body, ok := g.local(r, proc)
	if !ok {
		return false
	}
	done := metrics.ObserveRPC(ctx, proc, "rest")
	if err := g.gate.rateLimit(ctx, rule, p, g.gate.clientIP(r.Header, r.RemoteAddr)); err != nil {
		done(err)
		writeConnectError(w, err)
		return true
	}
	defer done(nil)
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Accept-Encoding"] = []string{"gzip"} // as the transcoder answers
	h.Add("Vary", "Accept-Encoding")
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return true
}

// match finds the routes of r as the transcoder does: on the decoded path,
// exact method; a ":verb" suffix matches none of the shop's routes.
func (g *restGuard) match(r *http.Request) []*restRoute {
	if !strings.HasPrefix(r.URL.Path, "/") {
		return nil
	}
	segments := strings.Split(r.URL.Path[1:], "/")
	if strings.Contains(segments[len(segments)-1], ":") {
		return nil
	}
	var matched []*restRoute
	for i := range g.routes {
		if g.routes[i].matches(r.Method, segments) {
			matched = append(matched, &g.routes[i])
		}
	}
	return matched
}

// writeConnectError answers a Connect error (toConnect's answer) in the
// REST error shape, its metadata (Retry-After) as headers.
func writeConnectError(w http.ResponseWriter, err error) {
	ce := connect.NewError(connect.CodeInternal, errors.New("internal error"))
	errors.As(err, &ce)
	status, ok := restStatus[ce.Code()]
	if !ok {
		status = http.StatusInternalServerError
	}
	writeRESTError(w, status, ce)
}

// restError answers InvalidArgument as the transcoder answers REST errors.
func restError(w http.ResponseWriter, message string) {
	writeRESTError(w, http.StatusBadRequest, connect.NewError(connect.CodeInvalidArgument, errors.New(message)))
}

// restErrorWriter turns the transcoder's own refusals, which it writes as
// plain text before it knows the RPC (405 for a method the route does not
// take, 415 for a content type it cannot read, 400 for headers it cannot
// parse), into the REST error shape. Everything else passes through.
type restErrorWriter struct {
	http.ResponseWriter
	method, path string
	// contentType is the request's, read before the transcoder takes it away.
	contentType string
	status      int // the held plain-text error's status; 0 while none is held
	text        []byte
	passed      bool // the answer has started
}

func (e *restErrorWriter) WriteHeader(code int) {
	if !e.passed && e.status == 0 && code >= 400 &&
		strings.HasPrefix(e.ResponseWriter.Header().Get("Content-Type"), "text/plain") {
		e.status = code
		return
	}
	if e.status != 0 {
		return
	}
	e.passed = true
	e.ResponseWriter.WriteHeader(code)
}

func (e *restErrorWriter) Write(b []byte) (int, error) {
	if e.status != 0 {
		if len(e.text) < 1024 {
			e.text = append(e.text, b...)
		}
		return len(b), nil
	}
	e.passed = true
	return e.ResponseWriter.Write(b)
}

func (e *restErrorWriter) Flush() {
	if f, ok := e.ResponseWriter.(http.Flusher); ok && e.status == 0 {
		e.passed = true
		f.Flush()
	}
}

func (e *restErrorWriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }

// finish writes the held error, if any, in the REST error shape.
func (e *restErrorWriter) finish() {
	if e.status == 0 {
		return
	}
	h := e.ResponseWriter.Header()
	h.Del("Content-Type")
	var msg string
	switch e.status {
	case http.StatusMethodNotAllowed:
		msg = e.method + " is not allowed on " + e.path
		if allow := h.Get("Allow"); allow != "" {
			methods := strings.Split(allow, ",")
			slices.Sort(methods)
			h.Set("Allow", strings.Join(methods, ", "))
			msg += "; allowed: " + strings.Join(methods, ", ")
		}
	case http.StatusUnsupportedMediaType:
		msg = "Content-Type " + quoteHeader(e.contentType) + " is not accepted; send application/json"
	default:
		msg = strings.TrimSpace(string(e.text))
		if msg == "" || e.status >= 500 {
			msg = strings.ToLower(http.StatusText(e.status))
		}
	}
	writeRESTError(e.ResponseWriter, e.status, connect.NewError(statusCode(e.status), errors.New(msg)))
}

// quoteHeader quotes a header value for a message; an absent one is "(none)".
func quoteHeader(v string) string {
	if v == "" {
		return "(none)"
	}
	return strconv.Quote(v)
}

// serveREST hands r to the transcoder, its plain-text refusals reshaped.
func (g *restGuard) serveREST(w http.ResponseWriter, r *http.Request) {
	ew := &restErrorWriter{ResponseWriter: w, method: r.Method, path: r.URL.Path, contentType: r.Header.Get("Content-Type")}
	g.next.ServeHTTP(ew, r)
	ew.finish()
}

// restAlias serves path's route under another path: the original API's
// troubleshooting guide logs in at /auth/login, without the /api prefix.
func restAlias(path string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawPath = path, ""
		r2.RequestURI = r2.URL.RequestURI()
		next.ServeHTTP(w, r2)
	})
}

// filterQuery keeps the query parameters one of the matched routes takes,
// or names the first kept one whose value is not UTF-8.
func filterQuery(r *http.Request, matched []*restRoute) (*http.Request, string) {
	q := r.URL.Query()
	dropped := false
	for _, key := range slices.Sorted(maps.Keys(q)) {
		keep := false
		for _, m := range matched {
			keep = keep || m.takesQuery(key)
		}
		if !keep {
			delete(q, key)
			dropped = true
			continue
		}
		for _, v := range q[key] {
			if !utf8.ValidString(v) {
				return r, key
			}
		}
	}
	if !dropped {
		return r, ""
	}
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	r2.RequestURI = r2.URL.RequestURI()
	return r2, ""
}

// emptyBody says whether r's body is empty, reading at most one byte (which
// it puts back).
func emptyBody(r *http.Request) (bool, error) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return true, nil
	}
	if r.ContentLength > 0 {
		return false, nil
	}
	br := bufio.NewReaderSize(r.Body, 16)
	_, err := br.Peek(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{br, r.Body}
	return false, nil
}
