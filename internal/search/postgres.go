package search

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopkit/shop/internal/db"
)

// Postgres searches the catalog tables directly: websearch_to_tsquery over
// the weighted search_vector, OR pg_trgm word similarity on name and brand
// for typos.
type Postgres struct {
	pool  *pgxpool.Pool
	reads db.Reader // Search and Suggest
}

// NewPostgres returns a backend over pool.
func NewPostgres(pool *pgxpool.Pool) *Postgres {
	return &Postgres{pool: pool, reads: db.PrimaryReader(pool)}
}

// ReadFrom routes Search and Suggest through r: the storefront's searches
// may come from a replica when the request allows it (db.ReplicaOK).
func (p *Postgres) ReadFrom(r db.Reader) { p.reads = r }

// Private-use runes mark highlights inside ts_headline's output, so that the
// rest can be HTML-escaped before they become <em> tags.
const (
	hlStart = "\uE000"
	hlStop  = "\uE001"
)

// pgOrder is the ORDER BY of each sort, over the match columns of table t.
func pgOrder(s Sort, hasText bool, t string) string {
	by := "created_at DESC"
	switch {
	case s == SortPriceAsc:
		by = "price_minor"
	case s == SortPriceDesc:
		by = "price_minor DESC"
	case s == SortRelevance && hasText:
		by = "score DESC"
	}
	return t + "." + by + ", " + t + ".id"
}

// pageWindow bounds the page like Elasticsearch's max_result_window: a page
// beyond it is empty (facets and Total are still returned).
func pageWindow(q Query) (offset, limit int) {
	offset, limit = max(q.Offset, 0), min(max(q.Limit, 0), 100)
	if offset+limit > maxWindow {
		return 0, 0
	}
	return offset, limit
}

// Search implements Backend.
//
// Matching, like the Elasticsearch backend: every query word occurs in the
// product, stemmed in the search_vector or, if it has at least minFuzzyLen
// letters, trigram-close to a word of the name or brand (the typo path).
// Candidates come from the full-text and trigram indexes, so only rows that
// match some word are checked.
// Words the english configuration drops (stop words) are ignored.
//
// Ranking: ts_rank of any word with weights name 1, brand/attributes 0.67,
// description 0.33 (the ratios of the Elasticsearch boosts 3:2:1), plus,
// when the name (brand) is trigram-close to the whole query, the trigram
// similarity of the query to the whole name (half of it for the brand): like
// BM25's length norm this favours short names that are mostly the query,
// and it ranks typos.
func (p *Postgres) Search(ctx context.Context, q Query) (Result, error) {
	sql, args := pgSearch(q)
	var (
		res                       Result
		cats, brandJSON, hitsJSON []byte
		buckets                   map[string]int
	)
	// A batch is one implicit transaction, so the threshold of <% (which the
	// trigram index reads) is set for this query only.
	// The batch is built per attempt: pgx keeps a queued query's prepared
	// statement from the connection it ran on, so a batch the replica failed
	// cannot run again on the primary.
	err := p.reads.Read(ctx, func(ctx context.Context, pool *pgxpool.Pool) error {
		batch := &pgx.Batch{}
		batch.Queue(setThreshold, strconv.FormatFloat(trigramThreshold, 'f', -1, 64))
		batch.Queue(sql, args...).QueryRow(func(r pgx.Row) error {
			return r.Scan(&res.Total, &cats, &brandJSON, &buckets, &hitsJSON)
		})
		return pool.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		return Result{}, fmt.Errorf("search: postgres: %w", err)
	}
	var hits []struct {
		ID                int64
		Score             float64
		Name, Description *string
	}
	for _, u := range []struct {
		raw []byte
		to  any
	}{{cats, &res.Categories}, {brandJSON, &res.Brands}, {hitsJSON, &hits}} {
		if err := json.Unmarshal(u.raw, u.to); err != nil {
			return Result{}, fmt.Errorf("search: postgres: %w", err)
		}
	}
	res.Prices = emptyPrices()
	for i := range res.Prices {
		res.Prices[i].Count = buckets[strconv.Itoa(i+1)] // width_bucket counts from 1
	}
	res.Hits = make([]Hit, len(hits))
	for i, h := range hits {
		res.Hits[i] = Hit{ProductID: h.ID, Score: h.Score, Highlights: map[string]string{}}
		for field, s := range map[string]*string{"name": h.Name, "description": h.Description} {
			if s != nil && strings.Contains(*s, hlStart) {
				res.Hits[i].Highlights[field] = markup(*s)
			}
		}
	}
	return res, nil
}

// setThreshold sets the threshold of <% for the current transaction.
const setThreshold = "SELECT set_config('pg_trgm.word_similarity_threshold', $1, true)"

// pgSearch is the statement of Search and its arguments.
//
// Its cost is bounded by the match set: with text, the rows come from the
// candidates the indexes give (joined by id, never a scan of the catalog);
// only the columns that sort and facet are carried along, the facets are
// counted in one pass (grouping sets), and the wide columns (name,
// description, the score when the page is not sorted by it) are read for
// the page's rows alone. Without text nothing is materialized: the page
// comes from an index in the sort's order, the facets from one pass.
func pgSearch(q Query) (string, []any) {
	text := cleanText(q.Text)
	ws := words(text)
	if ws == nil {
		ws = []string{}
	}
	offset, limit := pageWindow(q)
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	hasText := text != ""
	byScore := q.Sort == SortRelevance && hasText

	scope := "SELECT id FROM tree WHERE active"
	if q.CategoryID != 0 {
		scope += " AND " + arg(q.CategoryID) + "::bigint = ANY(path)"
	}
	filters := "p.active AND p.category_id IN (SELECT id FROM scope)"
	if len(q.Brands) > 0 {
		filters += " AND lower(p.brand) IN (SELECT lower(b) FROM unnest(" + arg(cleanBrands(q.Brands)) + "::text[]) b)"
	}
	if q.MinPrice != nil {
		filters += " AND p.price_minor >= " + arg(*q.MinPrice) + "::bigint"
	}
	if q.MaxPrice != nil {
		filters += " AND p.price_minor <= " + arg(*q.MaxPrice) + "::bigint"
	}
	if q.InStock {
		filters += " AND " + inStockSQL
	}

	sql := `WITH RECURSIVE ` + categoryTree + `,
	scope AS (` + scope + `),`
	score, fuzzyLen := "0::float8", ""
	if hasText {
		wsArg := arg(ws)
		fuzzyLen = arg(minFuzzyLen)
		// The rank: ts_rank of any word, plus the trigram similarity of the
		// whole query to a name (half of it to a brand) close to it.
		score = `(ts_rank('{0.1, 0.33, 0.67, 1}', p.search_vector, q.anyq)
			+ CASE WHEN q.qn <% shop_unaccent(lower(p.name)) THEN similarity(q.qn, shop_unaccent(lower(p.name))) ELSE 0 END
			+ CASE WHEN q.qn <% shop_unaccent(lower(p.brand)) THEN 0.5 * similarity(q.qn, shop_unaccent(lower(p.brand))) ELSE 0 END
			)::float8`
		mScore := "0::float8"
		if byScore {
			mScore = score
		}
		sql += `
	qw AS (SELECT w, plainto_tsquery('english', w) AS wq FROM unnest(` + wsArg + `::text[]) w),
	q AS (SELECT to_tsquery('english', array_to_string(` + wsArg + `::text[], ' | ')) AS anyq, array_to_string(` + wsArg + `::text[], ' ') AS qn),
	-- Which word each product matches, through the indexes (full-text GIN,
	-- trigram GIN on name and brand; the latter recheck similarity): a
	-- product matches when it has every word (stop words aside), so no row
	-- is checked word by word again.
	hw AS MATERIALIZED (
		SELECT qw.w, p.id FROM qw, products p WHERE numnode(qw.wq) > 0 AND p.search_vector @@ qw.wq
		UNION SELECT qw.w, p.id FROM qw, products p
			WHERE numnode(qw.wq) > 0 AND length(qw.w) >= ` + fuzzyLen + ` AND qw.w <% shop_unaccent(lower(p.name))
		UNION SELECT qw.w, p.id FROM qw, products p
			WHERE numnode(qw.wq) > 0 AND length(qw.w) >= ` + fuzzyLen + ` AND qw.w <% shop_unaccent(lower(p.brand))
	),
	cand AS MATERIALIZED (
		SELECT id FROM hw GROUP BY id
		HAVING count(DISTINCT w) = (SELECT count(DISTINCT w) FROM qw WHERE numnode(wq) > 0)
	),
	m AS MATERIALIZED (
		SELECT p.id, p.category_id, p.brand, p.price_minor, p.created_at, ` + mScore + ` AS score
		FROM products p CROSS JOIN q
		-- Arrays, not joins: the planner, unable to size the candidates,
		-- would otherwise hash the whole catalog to join them.
		WHERE p.id = ANY (ARRAY(SELECT id FROM cand)) AND ` + strings.Replace(filters,
			"IN (SELECT id FROM scope)", "= ANY (ARRAY(SELECT id FROM scope))", 1) + `
	),`
	} else {
		sql += `
	m AS NOT MATERIALIZED (
		SELECT p.id, p.category_id, p.brand, p.price_minor, p.created_at, 0::float8 AS score
		FROM products p WHERE ` + filters + `
	),`
	}
	facetN, edges := arg(facetLimit), arg(priceEdges)
	sql += `
	page AS MATERIALIZED (SELECT * FROM m ORDER BY ` + pgOrder(q.Sort, hasText, "m") + ` LIMIT ` + arg(limit) + ` OFFSET ` + arg(offset) + `),
	-- Every facet and the total in one pass: GROUPING() tells the sets apart
	-- (7 the total, 3 categories, 5 brands, 6 price buckets).
	f AS (
		SELECT GROUPING(category_id, brand, b) AS g, category_id, brand, b, count(*) AS n
		FROM (SELECT category_id, brand, width_bucket(price_minor, ` + edges + `::bigint[]) AS b FROM m) x
		GROUP BY GROUPING SETS ((), (category_id), (brand), (b))
	),`
	hits := `SELECT coalesce(json_agg(json_build_object('id', page.id, 'score', page.score)
			ORDER BY ` + pgOrder(q.Sort, hasText, "page") + `), '[]') FROM page`
	if hasText {
		opts := fmt.Sprintf(`StartSel="%s", StopSel="%s"`, hlStart, hlStop)
		optsArg, threshold, strip := arg(opts), arg(trigramThreshold), arg(hlStart+hlStop)
		pageScore := score
		if byScore {
			pageScore = "page.score"
		}
		sql += `
	-- The page's rows, with the columns that only they need.
	pp AS (SELECT page.*, p.name, p.description, ` + pageScore + ` AS rank
		FROM page JOIN products p ON p.id = page.id CROSS JOIN q),
	-- Highlight the query's words plus the row's words that are trigram-close
	-- to a query word, so that a typo still highlights what it matched.
	hl AS (
		SELECT pp.id, coalesce(q.anyq || (
			SELECT to_tsquery('english', string_agg(DISTINCT nw, ' | '))
			FROM regexp_split_to_table(shop_unaccent(lower(pp.name || ' ' || pp.description)), '[^[:alnum:]]+') nw, qw
			WHERE length(nw) > 2 AND length(qw.w) >= ` + fuzzyLen + ` AND word_similarity(qw.w, nw) >= ` + threshold + `
		), q.anyq) AS hq
		FROM pp CROSS JOIN q
	),`
		hits = `SELECT coalesce(json_agg(json_build_object('id', pp.id, 'score', pp.rank,
				'name', ts_headline('english', translate(pp.name, ` + strip + `, ''), hl.hq, ` + optsArg + ` || ', HighlightAll=true'),
				'description', ts_headline('english', translate(pp.description, ` + strip + `, ''), hl.hq, ` + optsArg + ` || ', MaxWords=30, MinWords=12'))
			ORDER BY ` + pgOrder(q.Sort, hasText, "pp") + `), '[]')
			FROM pp LEFT JOIN hl ON hl.id = pp.id`
	}
	sql = strings.TrimSuffix(sql, ",") + `
	SELECT
		coalesce((SELECT n FROM f WHERE g = 7), 0),
		(SELECT coalesce(json_agg(json_build_object('Key', category_id::text, 'Count', n) ORDER BY n DESC, category_id), '[]')
			FROM (SELECT category_id, n FROM f WHERE g = 3 ORDER BY n DESC, category_id LIMIT ` + facetN + `) x),
		(SELECT coalesce(json_agg(json_build_object('Key', brand, 'Count', n) ORDER BY n DESC, brand COLLATE "C"), '[]')
			FROM (SELECT brand, n FROM f WHERE g = 5 AND brand <> '' ORDER BY n DESC, brand COLLATE "C" LIMIT ` + facetN + `) x),
		(SELECT coalesce(json_object_agg(b, n), '{}') FROM f WHERE g = 6),
		(` + hits + `)`
	return sql, args
}

// markup HTML-escapes a headline and turns its markers into <em> tags.
func markup(s string) string {
	return strings.NewReplacer(hlStart, "<em>", hlStop, "</em>").Replace(html.EscapeString(s))
}

// Suggest implements Backend: products whose name has every complete word
// of prefix and a word starting with its last word, closest names first.
func (p *Postgres) Suggest(ctx context.Context, prefix string, limit int) ([]Suggestion, error) {
	ws := words(cleanText(prefix))
	if len(ws) == 0 {
		return nil, nil
	}
	last := ws[len(ws)-1]
	var out []Suggestion
	err := p.reads.Read(ctx, func(ctx context.Context, pool *pgxpool.Pool) error {
		out = nil
		rows, err := pool.Query(ctx, `WITH RECURSIVE `+categoryTree+`
		SELECT p.id, p.name FROM products p
		WHERE p.active AND p.category_id IN (SELECT id FROM tree WHERE active)
			AND shop_unaccent(lower(p.name)) LIKE '%' || $2 || '%' -- served by the trigram index
			AND regexp_split_to_array(shop_unaccent(lower(p.name)), '[^[:alnum:]]+') @> $1::text[]
			AND EXISTS (SELECT 1 FROM regexp_split_to_table(shop_unaccent(lower(p.name)), '[^[:alnum:]]+') w
				WHERE starts_with(w, $2))
		ORDER BY similarity(shop_unaccent(lower(p.name)), $3) DESC, p.id LIMIT $4`,
			ws[:len(ws)-1], last, strings.Join(ws, " "), suggestLimit(limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s Suggestion
			if err := rows.Scan(&s.ProductID, &s.Name); err != nil {
				return err
			}
			out = append(out, s)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("search: postgres suggest: %w", err)
	}
	return out, nil
}

// suggestLimit defaults a non-positive limit to 10 and caps it at 100.
func suggestLimit(n int) int {
	if n <= 0 {
		return 10
	}
	return min(n, 100)
}
