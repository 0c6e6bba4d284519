package api

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"connectrpc.com/connect"

	"github.com/shopkit/shop/gen/shop/analytics/v1/analyticsv1connect"
	"github.com/shopkit/shop/gen/shop/auth/v1/authv1connect"
	"github.com/shopkit/shop/gen/shop/cart/v1/cartv1connect"
	"github.com/shopkit/shop/gen/shop/catalog/v1/catalogv1connect"
	"github.com/shopkit/shop/gen/shop/events/v1/eventsv1connect"
	"github.com/shopkit/shop/gen/shop/fulfilment/v1/fulfilmentv1connect"
	"github.com/shopkit/shop/gen/shop/inventory/v1/inventoryv1connect"
	"github.com/shopkit/shop/gen/shop/order/v1/orderv1connect"
	"github.com/shopkit/shop/gen/shop/recommendation/v1/recommendationv1connect"
	"github.com/shopkit/shop/gen/shop/returns/v1/returnsv1connect"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/ratelimit"
)

// rule says who may call a procedure and which rate limit applies.
type rule struct {
	public bool            // callable without a token
	roles  []identity.Role // when not public: the roles allowed (nil = any signed-in user)
	// limit names an entry of RATE_LIMITS. Empty means "user" for a
	// signed-in caller, "public" otherwise.
	limit string
	// failClosed refuses the call when the limiter is unreachable.
	failClosed bool
}

var (
	anyone   = rule{public: true}
	signedIn = rule{}
	staff    = rule{roles: []identity.Role{identity.RoleStaff, identity.RoleAdmin}}
	admins   = rule{roles: []identity.Role{identity.RoleAdmin}}
)

// accessTable is the one place that says who may call what, over Connect,
// gRPC, gRPC-Web and REST alike. A procedure missing here is refused.
var accessTable = map[string]rule{
	catalogv1connect.CatalogServiceListCategoriesProcedure:       anyone,
	catalogv1connect.CatalogServiceListProductsProcedure:         anyone,
	catalogv1connect.CatalogServiceGetProductProcedure:           anyone,
	catalogv1connect.CatalogServiceSearchProductsProcedure:       anyone,
	catalogv1connect.CatalogServiceSuggestProductsProcedure:      anyone,
	catalogv1connect.CatalogServiceCreateProductProcedure:        admins,
	catalogv1connect.CatalogServiceUpdateProductProcedure:        staff,
	catalogv1connect.CatalogServiceArchiveProductProcedure:       admins,
	catalogv1connect.CatalogServiceAdjustStockProcedure:          staff,
	catalogv1connect.CatalogServiceListStockAdjustmentsProcedure: staff,
	catalogv1connect.CatalogServiceCreateVariantProcedure:        staff,
	catalogv1connect.CatalogServiceUpdateVariantProcedure:        staff,
	catalogv1connect.CatalogServiceCreateCategoryProcedure:       admins,
	catalogv1connect.CatalogServiceUpdateCategoryProcedure:       admins,
	catalogv1connect.CatalogServiceArchiveCategoryProcedure:      admins,
	catalogv1connect.CatalogServiceListProductImagesProcedure:    staff,
	catalogv1connect.CatalogServiceUpdateProductImageProcedure:   staff,
	catalogv1connect.CatalogServiceReorderProductImagesProcedure: staff,
	catalogv1connect.CatalogServiceDeleteProductImageProcedure:   staff,

	inventoryv1connect.InventoryServiceListLocationsProcedure:       staff,
	inventoryv1connect.InventoryServiceCreateLocationProcedure:      admins,
	inventoryv1connect.InventoryServiceUpdateLocationProcedure:      admins,
	inventoryv1connect.InventoryServiceGetProductStockProcedure:     staff,
	inventoryv1connect.InventoryServiceAdjustLocationStockProcedure: staff,
	inventoryv1connect.InventoryServiceTransferStockProcedure:       staff,

	fulfilmentv1connect.FulfilmentServiceListShipmentsProcedure:         staff,
	fulfilmentv1connect.FulfilmentServiceGetShipmentProcedure:           staff,
	fulfilmentv1connect.FulfilmentServicePickShipmentProcedure:          staff,
	fulfilmentv1connect.FulfilmentServicePackShipmentProcedure:          staff,
	fulfilmentv1connect.FulfilmentServiceShipShipmentProcedure:          staff,
	fulfilmentv1connect.FulfilmentServiceDeliverShipmentProcedure:       staff,
	fulfilmentv1connect.FulfilmentServiceReportShipmentProblemProcedure: staff,
	fulfilmentv1connect.FulfilmentServiceResolveLostShipmentProcedure:   staff,

	// Customers ask for returns of their own orders; staff decide them.
	returnsv1connect.ReturnServiceRequestReturnProcedure:    signedIn,
	returnsv1connect.ReturnServiceListOrderReturnsProcedure: signedIn,
	returnsv1connect.ReturnServiceGetReturnProcedure:        signedIn,
	returnsv1connect.ReturnServiceListReturnsProcedure:      staff,
	returnsv1connect.ReturnServiceApproveReturnProcedure:    staff,
	returnsv1connect.ReturnServiceRefuseReturnProcedure:     staff,
	returnsv1connect.ReturnServiceReceiveReturnProcedure:    staff,

	orderv1connect.OrderServiceCreateOrderProcedure:   signedIn,
	orderv1connect.OrderServiceListOrdersProcedure:    signedIn,
	orderv1connect.OrderServiceGetOrderProcedure:      signedIn,
	orderv1connect.OrderServiceCancelOrderProcedure:   signedIn,
	orderv1connect.OrderServiceRefundOrderProcedure:   staff,
	orderv1connect.OrderServiceResolveRefundProcedure: staff,

	authv1connect.AuthServiceRegisterProcedure:       {public: true, limit: "auth"},
	authv1connect.AuthServiceLoginProcedure:          {public: true, limit: "login", failClosed: true},
	authv1connect.AuthServiceRefreshProcedure:        {public: true, limit: "auth"},
	authv1connect.AuthServiceLogoutProcedure:         signedIn,
	authv1connect.AuthServiceMeProcedure:             signedIn,
	authv1connect.AuthServiceUpdateProfileProcedure:  signedIn,
	authv1connect.AuthServiceChangePasswordProcedure: {limit: "auth"},
	authv1connect.AuthServiceListAddressesProcedure:  signedIn,
	authv1connect.AuthServiceAddAddressProcedure:     signedIn,
	authv1connect.AuthServiceUpdateAddressProcedure:  signedIn,
	authv1connect.AuthServiceDeleteAddressProcedure:  signedIn,
	authv1connect.AuthServiceListUsersProcedure:      staff,
	authv1connect.AuthServiceSetUserRoleProcedure:    admins,

	cartv1connect.CartServiceGetCartProcedure:             signedIn,
	cartv1connect.CartServiceAddCartItemProcedure:         signedIn,
	cartv1connect.CartServiceUpdateCartItemProcedure:      signedIn,
	cartv1connect.CartServiceRemoveCartItemProcedure:      signedIn,
	cartv1connect.CartServiceApplyCouponProcedure:         signedIn,
	cartv1connect.CartServiceRemoveCouponProcedure:        signedIn,
	cartv1connect.CartServiceSetShippingProcedure:         signedIn,
	cartv1connect.CartServiceListShippingMethodsProcedure: anyone,
	cartv1connect.CartServiceCreateCouponProcedure:        admins,
	cartv1connect.CartServiceListCouponsProcedure:         staff,
	// The link in a reminder email works signed out: its token says whose.
	cartv1connect.CartServiceUnsubscribeCartRemindersProcedure: anyone,
	cartv1connect.CartServiceNotifyBackInStockProcedure:        signedIn,

	// The storefront reports what shoppers do, signed in or not, under a
	// limit of its own (per client IP).
	eventsv1connect.EventServiceRecordEventsProcedure: {public: true, limit: "events"},

	// Anyone may ask; only the shopper, staff or the internal token get
	// personal results (RecommendationServer decides).
	recommendationv1connect.RecommendationServiceGetRecommendationsProcedure: anyone,
	recommendationv1connect.RecommendationServiceAlsoBoughtProcedure:         anyone,

	// Sales analytics are for staff and admins.
	analyticsv1connect.AnalyticsServiceGetSalesAnalyticsProcedure: staff,
}

// routeRules are the rules of the routes served outside the RPCs (the
// webhooks and probes authenticate by other means or not at all).
var routeRules = map[string]rule{
	uploadRoute: staff,
}

// Authenticator turns a bearer token into the caller.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (identity.Principal, error)
}

// RateLimiter takes one event for a key (see internal/ratelimit).
type RateLimiter interface {
	Allow(ctx context.Context, key string, limit ratelimit.Limit) (ratelimit.Result, error)
}

type gate struct {
	auth       Authenticator
	limiter    RateLimiter
	limits     map[string]ratelimit.Limit
	trustProxy bool
	log        *slog.Logger
}

type principalKey struct{}

// principalFrom returns the authenticated caller, if any.
func principalFrom(ctx context.Context) (identity.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(identity.Principal)
	return p, ok
}

// mustPrincipal is for handlers behind a non-public rule.
func mustPrincipal(ctx context.Context) (identity.Principal, error) {
	p, ok := principalFrom(ctx)
	if !ok {
		return p, connect.NewError(connect.CodeUnauthenticated, errors.New("sign in first"))
	}
	return p, nil
}

func (g *gate) interceptor() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			ctx, err := g.admit(ctx, req.Spec().Procedure, req.Header(), req.Peer().Addr)
			if err != nil {
				return nil, err
			}
			return next(ctx, req)
		}
	}
}

// admit authenticates, authorises and rate-limits one call.
func (g *gate) admit(ctx context.Context, procedure string, h http.Header, peer string) (context.Context, error) {
	ctx, r, p, err := g.authorize(ctx, procedure, h)
	if err != nil {
		return ctx, err
	}
	if l, ok := ctx.Value(limitedKey{}).(limited); ok && l.procedure == procedure {
		return ctx, l.err // the limit was applied before (localConnect): not twice
	}
	return ctx, g.rateLimit(ctx, r, p, g.clientIP(h, peer))
}

// limitedKey marks a call whose rate limit was already applied, with the outcome.
type limitedKey struct{}

type limited struct {
	procedure string
	err       error
}

// authorizedKey marks a request whose caller the REST guard already
// authorised for procedure, before its body was decoded.
type authorizedKey struct{}

type authorized struct {
	procedure string
	principal *identity.Principal
}

// authorize authenticates the caller and checks the procedure's rule; the
// answer carries the principal in ctx.
func (g *gate) authorize(ctx context.Context, procedure string, h http.Header) (context.Context, rule, *identity.Principal, error) {
	r, ok := accessTable[procedure]
	if !ok {
		g.log.ErrorContext(ctx, "procedure has no access rule; refusing", "procedure", procedure)
		return ctx, r, nil, connect.NewError(connect.CodePermissionDenied, errors.New("permission denied"))
	}
	return g.authorizeRule(ctx, procedure, r, h)
}

// authorizeRule is authorize for a procedure or route whose rule is r.
func (g *gate) authorizeRule(ctx context.Context, procedure string, r rule, h http.Header) (context.Context, rule, *identity.Principal, error) {
	if a, ok := ctx.Value(authorizedKey{}).(authorized); ok && a.procedure == procedure {
		if a.principal != nil {
			ctx = context.WithValue(ctx, principalKey{}, *a.principal)
		}
		return ctx, r, a.principal, nil
	}
	var p *identity.Principal
	if token, ok := bearer(h); ok {
		pr, err := g.auth.Authenticate(ctx, token)
		switch {
		case err == nil:
			p = &pr
			ctx = context.WithValue(ctx, principalKey{}, pr)
		case errors.Is(err, identity.ErrInvalidToken):
			return ctx, r, nil, connect.NewError(connect.CodeUnauthenticated, errors.New("invalid or expired access token"))
		case errors.Is(err, identity.ErrAuthUnavailable) && ctx.Err() == nil:
			// The token may have been revoked and cannot be checked: never
			// trust it. A public call goes on as anonymous (it grants
			// nothing, and reads served from caches keep working); any other
			// call is refused with 503, not waved through.
			g.log.WarnContext(ctx, "cannot check access token revocation", "procedure", procedure, "error", err)
			if !r.public {
				return ctx, r, nil, connect.NewError(connect.CodeUnavailable, errors.New("sign-in checks are temporarily unavailable; try again shortly"))
			}
		default:
			return ctx, r, nil, err
		}
	} else if h.Get("Authorization") != "" {
		return ctx, r, nil, connect.NewError(connect.CodeUnauthenticated, errors.New(`the Authorization header must be "Bearer <access token>"`))
	}
	if !r.public && p == nil {
		return ctx, r, nil, connect.NewError(connect.CodeUnauthenticated, errors.New("sign in first: send Authorization: Bearer <access token>"))
	}
	if len(r.roles) > 0 && !hasRole(r.roles, p.Role) {
		return ctx, r, nil, connect.NewError(connect.CodePermissionDenied, errors.New("your role may not do this"))
	}
	return context.WithValue(ctx, authorizedKey{}, authorized{procedure: procedure, principal: p}), r, p, nil
}

func (g *gate) rateLimit(ctx context.Context, r rule, p *identity.Principal, ip string) error {
	name, key := r.limit, "ip:"+ip
	if name == "" {
		name = "public"
		if p != nil {
			name = "user"
		}
	}
	if p != nil && r.limit == "" {
		key = "user:" + strconv.FormatInt(p.UserID, 10)
	}
	limit, ok := g.limits[name]
	if !ok || g.limiter == nil {
		return nil
	}
	res, err := g.limiter.Allow(ctx, name+":"+key, limit)
	if err != nil {
		if r.failClosed {
			g.log.WarnContext(ctx, "rate limiter unavailable; refusing", "limit", name, "error", err)
			return connect.NewError(connect.CodeUnavailable, errors.New("temporarily unavailable; try again shortly"))
		}
		g.log.WarnContext(ctx, "rate limiter unavailable; allowing", "limit", name, "error", err)
		return nil
	}
	if !res.Allowed {
		return tooManyRequests(res.RetryAfter.Seconds())
	}
	return nil
}

// tooManyRequests is ResourceExhausted (HTTP 429) with a Retry-After header.
func tooManyRequests(seconds float64) error {
	s := max(1, int(seconds+0.999))
	ce := connect.NewError(connect.CodeResourceExhausted, errors.New("too many requests; retry after "+strconv.Itoa(s)+"s"))
	ce.Meta().Set("Retry-After", strconv.Itoa(s))
	return ce
}

func (g *gate) clientIP(h http.Header, peer string) string {
	if g.trustProxy {
		if xff := h.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			if ip := net.ParseIP(strings.TrimSpace(first)); ip != nil {
				return ip.String()
			}
		}
	}
	if host, _, err := net.SplitHostPort(peer); err == nil {
		return host
	}
	return peer
}

func bearer(h http.Header) (string, bool) {
	scheme, token, ok := strings.Cut(h.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(token) == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

func hasRole(roles []identity.Role, r identity.Role) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}

// Procedures lists every procedure the access table knows, sorted.
func Procedures() []string {
	out := make([]string, 0, len(accessTable))
	for p := range accessTable {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}
