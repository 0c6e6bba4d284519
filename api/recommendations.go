package api

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"net/http"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/shopkit/shop/gen/shop/catalog/v1"
	recommendationv1 "github.com/shopkit/shop/gen/shop/recommendation/v1"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/recommender"
	"github.com/shopkit/shop/recommender/modelstore"
)

// Models hands out the live recommendation model (modelstore.Watcher).
type Models interface {
	Current() *modelstore.Loaded
}

// InternalTokenHeader carries RECOMMENDER_INTERNAL_TOKEN for services that
// ask for any shopper's recommendations.
const InternalTokenHeader = "X-Internal-Token"

// RecommendationServer implements RecommendationService over the live
// model; products come from the catalog, so only active, in-stock ones are
// answered.
type RecommendationServer struct {
	Models        Models
	Catalog       *catalog.Store
	InternalToken string
}

// scorerOf maps the API's algorithm names onto recommender.Algorithms:
// "collaborative" is item-to-item collaborative filtering (itemknn), whose
// reasons name the shopper's own items.
var scorerOf = map[string]string{
	"": "hybrid", "hybrid": "hybrid", "popular": "popular", "collaborative": "itemknn", "itemknn": "itemknn",
	"als": "als", "ease": "ease", "content": "content", "buy_again": "buy_again",
}

var displayName = map[string]string{
	"hybrid": "Hybrid", "popular": "Popular", "itemknn": "Collaborative (item-to-item)",
	"als": "Collaborative (matrix factorisation)", "ease": "Collaborative (EASE)", "content": "Content-based", "buy_again": "Buy again",
}

func (s *RecommendationServer) model() (*modelstore.Loaded, error) {
	if s.Models == nil {
		return nil, connect.NewError(connect.CodeUnimplemented, errors.New("recommendations are not served here"))
	}
	cur := s.Models.Current()
	if cur == nil {
		// No fallback that would hide a missing training step: say what to do.
		return nil, connect.NewError(connect.CodeUnavailable, modelstore.ErrNoLive)
	}
	return cur, nil
}

// mayPersonalise: the user themselves, staff and admins, or a service
// holding the internal token.
func (s *RecommendationServer) mayPersonalise(ctx context.Context, h http.Header, userID int64) bool {
	if p, ok := principalFrom(ctx); ok && (p.UserID == userID || p.Role == identity.RoleStaff || p.Role == identity.RoleAdmin) {
		return true
	}
	t := h.Get(InternalTokenHeader)
	return s.InternalToken != "" && t != "" && subtle.ConstantTimeCompare([]byte(t), []byte(s.InternalToken)) == 1
}

// GetRecommendations answers the seed's POST /recommendations.
func (s *RecommendationServer) GetRecommendations(ctx context.Context, req *connect.Request[recommendationv1.GetRecommendationsRequest]) (*connect.Response[recommendationv1.GetRecommendationsResponse], error) {
	cur, err := s.model()
	if err != nil {
		return nil, err
	}
	msg := req.Msg
	scorer := scorerOf[msg.GetAlgorithm()]
	used := displayName[scorer]
	userID, personal := msg.GetUserId(), true
	switch _, known := cur.Model.Data.UserIndex(userID); {
	case userID == 0:
		scorer, used, personal = "popular", "Popular (not personalised: no user_id)", false
	case !s.mayPersonalise(ctx, req.Header(), userID):
		// Never hint at what another shopper did.
		scorer, used, personal, userID = "popular", "Popular (not personalised: sign in as this user)", false, 0
	case !known && scorer != "buy_again":
		scorer, used, personal = "popular", "Popular (cold start: no history for this user yet)", false
	}
	limit := int(cmp.Or(msg.GetLimit(), 10))
	recs, err := s.available(ctx, limit, func(k int) ([]recommender.Recommendation, error) {
		return cur.Model.Recommend(recommender.Request{UserID: userID, Algorithm: scorer, K: k,
			Exclude: msg.GetExcludeProducts(), Categories: msg.GetIncludeCategories()})
	})
	if err != nil {
		return nil, err
	}
	var sum float64
	for _, r := range recs {
		sum += r.Confidence
	}
	res := &recommendationv1.GetRecommendationsResponse{Recommendations: recs, AlgorithmUsed: used,
		GeneratedAt: timestamppb.Now(), ModelVersion: cur.Version, Personalised: personal}
	if len(recs) > 0 {
		res.ConfidenceScore = sum / float64(len(recs))
	}
	return connect.NewResponse(res), nil
}

// AlsoBought answers GET /api/products/{product_id}/also-bought.
func (s *RecommendationServer) AlsoBought(ctx context.Context, req *connect.Request[recommendationv1.AlsoBoughtRequest]) (*connect.Response[recommendationv1.AlsoBoughtResponse], error) {
	cur, err := s.model()
	if err != nil {
		return nil, err
	}
	recs, err := s.available(ctx, int(cmp.Or(req.Msg.GetLimit(), 10)), func(k int) ([]recommender.Recommendation, error) {
		return cur.Model.AlsoBought(req.Msg.GetProductId(), k), nil
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&recommendationv1.AlsoBoughtResponse{Recommendations: recs,
		GeneratedAt: timestamppb.Now(), ModelVersion: cur.Version}), nil
}

// available asks the model for more than limit, keeps the active, in-stock
// products (one catalog query per round) and asks again for more when too
// many were not sellable.
func (s *RecommendationServer) available(ctx context.Context, limit int, top func(k int) ([]recommender.Recommendation, error)) ([]*recommendationv1.Recommendation, error) {
	k := 2*limit + 10
	for round := 0; ; round++ {
		recs, err := top(k)
		if err != nil {
			return nil, err
		}
		ids := make([]int64, len(recs))
		for i, r := range recs {
			ids[i] = r.ItemID
		}
		products, err := s.Catalog.ProductsByIDs(ctx, ids)
		if err != nil {
			return nil, err
		}
		out := []*recommendationv1.Recommendation{}
		for _, r := range recs {
			p, ok := products[r.ItemID]
			if !ok || p.StockQuantity <= 0 {
				continue
			}
			out = append(out, &recommendationv1.Recommendation{Score: r.Score, Reason: r.Reason.Text, Confidence: r.Confidence,
				Product: &recommendationv1.Product{Id: p.ID, Name: p.Name, Description: p.Description, Brand: p.Brand,
					CategoryId: p.CategoryID, Price: p.Price.Decimal(),
					PriceMoney: &catalogv1.Money{AmountMinor: p.Price.Amount, Currency: p.Price.Currency}}})
			if len(out) == limit {
				return out, nil
			}
		}
		if len(recs) < k || round == 3 {
			return out, nil
		}
		k *= 4
	}
}
