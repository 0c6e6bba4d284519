package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/api"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/recommender"
	"github.com/shopkit/shop/recommender/modelstore"
	"github.com/shopkit/shop/recommender/signals"
	"github.com/shopkit/shop/recommender/signals/signalstest"
)

const internalToken = "internal-token-for-tests-0123456789abcdef"

// seedRecommendationBody is the seed's call, verbatim.
const seedRecommendationBody = `{"user_id": 123, "limit": 10, "algorithm": "hybrid", "include_categories": [1, 2, 3], "exclude_products": [45, 67]}`

type recoFixture struct {
	*fixture
	models  *modelstore.Watcher
	shopper int64            // the demo shopper with the most orders
	bought  map[int64]bool   // what they bought
	cats    map[string]int64 // category ids by name
}

// newRecoServer serves a model trained on a seeded demo past, hot-reloaded
// by a running watcher.
func newRecoServer(t *testing.T) *recoFixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var w *modelstore.Watcher
	f := newServerWith(t, options{internalToken: internalToken, recommendations: func(pool *pgxpool.Pool) api.Models {
		w = modelstore.NewWatcher(pool, slog.New(slog.DiscardHandler))
		return w
	}})
	pool := f.shop.Pool
	signalstest.Seed(t, pool, 40)
	go func() { _ = w.Run(ctx) }()
	v := trainAndPublish(t, pool)
	require.Eventually(t, func() bool { c := w.Current(); return c != nil && c.Version == v }, 20*time.Second, 10*time.Millisecond)

	r := &recoFixture{fixture: f, models: w, bought: map[int64]bool{}, cats: map[string]int64{}}
	require.NoError(t, pool.QueryRow(ctx, `SELECT user_id FROM orders GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1`).Scan(&r.shopper))
	rows, err := pool.Query(ctx, `SELECT DISTINCT i.product_id FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.user_id = $1`, r.shopper)
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		r.bought[id] = true
	}
	require.NoError(t, rows.Err())
	rows, err = pool.Query(ctx, `SELECT name, id FROM categories`)
	require.NoError(t, err)
	for rows.Next() {
		var name string
		var id int64
		require.NoError(t, rows.Scan(&name, &id))
		r.cats[name] = id
	}
	require.NoError(t, rows.Err())
	return r
}

// trainAndPublish does what `shop recommender train` does.
func trainAndPublish(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	ctx := context.Background()
	snap, err := signals.Read(ctx, pool)
	require.NoError(t, err)
	cfg := recommender.DefaultConfig()
	cfg.ALS.Factors, cfg.ALS.Iterations = 8, 3
	m, err := recommender.Train(snap.Interactions, snap.Items, cfg)
	require.NoError(t, err)
	s := modelstore.New(pool)
	v, err := s.Save(ctx, m, "test")
	require.NoError(t, err)
	require.NoError(t, s.Publish(ctx, v))
	return v
}

// sessionAs signs in as an existing user (demo shoppers have no password:
// give them one).
func (r *recoFixture) sessionAs(t *testing.T, userID int64) string {
	t.Helper()
	ctx := context.Background()
	donor := fmt.Sprintf("donor%d", userID)
	session(t, r.fixture, donor, identity.RoleCustomer)
	var username string
	require.NoError(t, r.shop.Pool.QueryRow(ctx, `UPDATE users SET password_hash = (SELECT password_hash FROM users WHERE username = $1)
		WHERE id = $2 RETURNING username`, donor, userID).Scan(&username))
	s, _, err := r.identity.Login(ctx, username, "SecurePass123!")
	require.NoError(t, err)
	return s.AccessToken
}

type recoAnswer struct {
	code         int
	body         map[string]any
	ids          []int64
	cats         []int64
	algorithm    string
	version      string
	personalised bool
}

func (r *recoFixture) ask(t *testing.T, path, token string, header http.Header, body string) recoAnswer {
	t.Helper()
	req, err := http.NewRequest("POST", r.url+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var a recoAnswer
	a.code = res.StatusCode
	require.NoError(t, json.NewDecoder(res.Body).Decode(&a.body))
	if a.code != http.StatusOK {
		return a
	}
	a.algorithm, _ = a.body["algorithm_used"].(string)
	a.version, _ = a.body["model_version"].(string)
	a.personalised, _ = a.body["personalised"].(bool)
	for _, x := range a.body["recommendations"].([]any) {
		rec := x.(map[string]any)
		p := rec["product"].(map[string]any)
		id, err := strconv.ParseInt(p["id"].(string), 10, 64)
		require.NoError(t, err)
		cat, err := strconv.ParseInt(p["category_id"].(string), 10, 64)
		require.NoError(t, err)
		a.ids = append(a.ids, id)
		a.cats = append(a.cats, cat)
		for _, k := range []string{"name", "price", "description"} {
			assert.Contains(t, p, k)
		}
		for _, k := range []string{"score", "reason", "confidence"} {
			assert.Contains(t, rec, k)
		}
	}
	return a
}

func TestSeedRecommendationCall(t *testing.T) {
	r := newRecoServer(t)

	// The seed's body verbatim, signed out: 200 with the seed's fields, not
	// personal, filters honoured.
	a := r.ask(t, "/recommendations", "", nil, seedRecommendationBody)
	require.Equal(t, http.StatusOK, a.code, a.body)
	for _, k := range []string{"recommendations", "algorithm_used", "confidence_score", "generated_at", "model_version"} {
		assert.Contains(t, a.body, k)
	}
	assert.Equal(t, "Popular (not personalised: sign in as this user)", a.algorithm)
	assert.Equal(t, r.models.Current().Version, a.version)
	for i, id := range a.ids {
		assert.Contains(t, []int64{1, 2, 3}, a.cats[i])
		assert.NotContains(t, []int64{45, 67}, id)
	}

	// As the shopper: personal, nothing they bought, only in-stock
	// products, the asked categories, never the excluded.
	token := r.sessionAs(t, r.shopper)
	mine := r.ask(t, "/api/recommendations", token, nil, fmt.Sprintf(`{"user_id": %d, "limit": 10}`, r.shopper))
	require.Equal(t, http.StatusOK, mine.code, mine.body)
	assert.True(t, mine.personalised)
	assert.Equal(t, "Hybrid", mine.algorithm)
	require.Len(t, mine.ids, 10)
	for _, id := range mine.ids {
		assert.False(t, r.bought[id], "product %d was bought already", id)
	}
	var stock int
	require.NoError(t, r.shop.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM products WHERE id = ANY($1) AND active AND stock_quantity > 0`, mine.ids).Scan(&stock))
	assert.Equal(t, len(mine.ids), stock)

	cats := []int64{r.cats["Mugs"], r.cats["Teas"]}
	exclude := mine.ids[:2]
	body := fmt.Sprintf(`{"user_id": %d, "limit": 5, "algorithm": "collaborative", "include_categories": [%d, %d], "exclude_products": [%d, %d]}`,
		r.shopper, cats[0], cats[1], exclude[0], exclude[1])
	f := r.ask(t, "/recommendations", token, nil, body)
	require.Equal(t, http.StatusOK, f.code, f.body)
	assert.Equal(t, "Collaborative (item-to-item)", f.algorithm)
	require.NotEmpty(t, f.ids)
	for i, id := range f.ids {
		assert.Contains(t, cats, f.cats[i])
		assert.NotContains(t, exclude, id)
		assert.False(t, r.bought[id])
	}

	// Products bought together with one the shopper bought.
	for id := range r.bought {
		code, _, also := call(t, "GET", fmt.Sprintf("%s/api/products/%d/also-bought?limit=3", r.url, id), "", "")
		require.Equal(t, http.StatusOK, code, also)
		assert.Contains(t, also, "model_version")
		break
	}
}

// Another customer asking for a shopper gets what anyone gets; the shopper,
// staff and the internal token get the personal answer.
func TestRecommendationPrivacy(t *testing.T) {
	r := newRecoServer(t)
	body := fmt.Sprintf(`{"user_id": %d, "limit": 8}`, r.shopper)
	anon := r.ask(t, "/recommendations", "", nil, body)
	require.Equal(t, http.StatusOK, anon.code, anon.body)
	other := r.ask(t, "/recommendations", session(t, r.fixture, "nosy", identity.RoleCustomer), nil, body)
	require.Equal(t, http.StatusOK, other.code, other.body)
	assert.False(t, other.personalised)
	assert.Contains(t, other.algorithm, "not personalised")
	assert.Equal(t, anon.ids, other.ids, "the same as a signed-out caller")

	own := r.ask(t, "/recommendations", r.sessionAs(t, r.shopper), nil, body)
	staff := r.ask(t, "/recommendations", session(t, r.fixture, "steve", identity.RoleStaff), nil, body)
	internal := r.ask(t, "/recommendations", "", http.Header{"X-Internal-Token": {internalToken}}, body)
	wrong := r.ask(t, "/recommendations", "", http.Header{"X-Internal-Token": {internalToken + "x"}}, body)
	for name, a := range map[string]recoAnswer{"own": own, "staff": staff, "internal": internal} {
		require.Equal(t, http.StatusOK, a.code, a.body)
		assert.True(t, a.personalised, name)
		assert.Equal(t, own.ids, a.ids, name)
	}
	assert.False(t, wrong.personalised)
	assert.NotEqual(t, anon.ids, own.ids, "the personal answer differs from the popular one")

	// A shopper without any history: cold start, not an error.
	cold := r.ask(t, "/recommendations", "", http.Header{"X-Internal-Token": {internalToken}}, `{"user_id": 987654321}`)
	require.Equal(t, http.StatusOK, cold.code, cold.body)
	assert.Contains(t, cold.algorithm, "cold start")
	assert.Len(t, cold.ids, 10, "limit defaults to 10")
}

func TestRecommendationValidation(t *testing.T) {
	r := newRecoServer(t)
	many := make([]string, 1001)
	for i := range many {
		many[i] = strconv.Itoa(i + 1)
	}
	for field, body := range map[string]string{
		"limit":            `{"user_id": 1, "limit": 0}`,
		"limit ":           `{"user_id": 1, "limit": 101}`,
		"algorithm":        `{"user_id": 1, "algorithm": "magic"}`,
		"exclude_products": `{"user_id": 1, "exclude_products": [` + strings.Join(many, ",") + `]}`,
	} {
		a := r.ask(t, "/recommendations", "", nil, body)
		assert.Equal(t, http.StatusBadRequest, a.code, "%s: %v", field, a.body)
		assert.Contains(t, fmt.Sprint(a.body), strings.TrimSpace(field))
	}
}

// Publishing a new model while requests run: none fails, and the answers
// move to the new version.
func TestRecommendationHotReload(t *testing.T) {
	r := newRecoServer(t)
	old := r.models.Current().Version
	body := fmt.Sprintf(`{"user_id": %d, "limit": 10}`, r.shopper)
	var failed, done atomic.Int64
	var seenNew atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				a := r.ask(t, "/recommendations", "", http.Header{"X-Internal-Token": {internalToken}}, body)
				done.Add(1)
				if a.code != http.StatusOK || len(a.ids) == 0 {
					failed.Add(1)
				} else if a.version != old {
					seenNew.Store(true)
				}
			}
		}()
	}
	require.Eventually(t, func() bool { return done.Load() > 5 }, 20*time.Second, 5*time.Millisecond)
	v := trainAndPublish(t, r.shop.Pool)
	require.Eventually(t, seenNew.Load, 20*time.Second, 5*time.Millisecond)
	close(stop)
	wg.Wait()
	assert.Zero(t, failed.Load(), "of %d requests", done.Load())
	assert.Equal(t, v, r.models.Current().Version)
}

// Before any training the service says what to do.
func TestRecommendationsWithoutModel(t *testing.T) {
	f := newServerWith(t, options{recommendations: func(pool *pgxpool.Pool) api.Models {
		return modelstore.NewWatcher(pool, slog.New(slog.DiscardHandler))
	}})
	code, _, body := call(t, "POST", f.url+"/recommendations", "", seedRecommendationBody)
	assert.Equal(t, http.StatusServiceUnavailable, code, body)
	assert.Contains(t, fmt.Sprint(body), "run shop recommender train")
}

type staticModels struct{ loaded *modelstore.Loaded }

func (s staticModels) Current() *modelstore.Loaded { return s.loaded }

// fixedModel is a model of a few shoppers of the products in the database,
// so that every fixture answers recommendations.
func fixedModel(t *testing.T, pool *pgxpool.Pool) api.Models {
	t.Helper()
	snap, err := signals.Read(context.Background(), pool)
	require.NoError(t, err)
	at := time.Now().Add(-time.Hour)
	var ins []recommender.Interaction
	for u := range int64(6) {
		for i, it := range snap.Items {
			if (int64(i)+u)%2 == 0 {
				ins = append(ins, recommender.Interaction{UserID: u + 1, ItemID: it.ID, Kind: recommender.Purchase, At: at})
			}
		}
	}
	cfg := recommender.DefaultConfig()
	cfg.ALS.Factors, cfg.ALS.Iterations = 4, 2
	m, err := recommender.Train(ins, snap.Items, cfg)
	require.NoError(t, err)
	return staticModels{&modelstore.Loaded{Version: "fixture", Model: m}}
}
