package api

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "github.com/shopkit/shop/gen/shop/analytics/v1"
	"github.com/shopkit/shop/internal/analytics"
)

// AnalyticsServer implements AnalyticsService over analytics.Store.
type AnalyticsServer struct {
	Store *analytics.Store
}

// GetSalesAnalytics implements AnalyticsService.
func (s *AnalyticsServer) GetSalesAnalytics(ctx context.Context, req *connect.Request[analyticsv1.GetSalesAnalyticsRequest]) (*connect.Response[analyticsv1.GetSalesAnalyticsResponse], error) {
	if s.Store == nil {
		return nil, connect.NewError(connect.CodeUnimplemented, errors.New("analytics is not configured"))
	}
	m := req.Msg
	r := analytics.Request{Start: m.GetStartDate().AsTime(), End: m.GetEndDate().AsTime(),
		GroupBy: analytics.GroupBy(m.GetGroupBy()), TimeZone: m.GetTimeZone(), Limit: int(m.GetLimit()),
		OrderBy: analytics.Metric(m.GetOrderBy()), Ascending: m.GetAscending(), Currency: m.GetCurrency()}
	for _, x := range m.GetMetrics() {
		r.Metrics = append(r.Metrics, analytics.Metric(x))
	}
	q, err := r.Check(s.Store.Config().MaxRange)
	if err != nil {
		return nil, err
	}
	ans, err := s.Store.Answer(ctx, q)
	if err != nil {
		return nil, err
	}
	out := &analyticsv1.GetSalesAnalyticsResponse{StartDate: timestamppb.New(q.Start), EndDate: timestamppb.New(q.End),
		GroupBy: string(q.GroupBy), TimeZone: q.TimeZone,
		RollupHours: int32(ans.RollupHours), RawHours: int32(ans.RawHours)}
	for _, x := range q.Metrics {
		out.Metrics = append(out.Metrics, string(x))
	}
	for _, row := range ans.Rows {
		out.Rows = append(out.Rows, rowOf(q, row))
	}
	if m.GetFormat() == "csv" || req.Header().Get(csvHeader) == "csv" {
		out.Csv = string(ans.CSV())
	}
	return connect.NewResponse(out), nil
}

func rowOf(q analytics.Query, r analytics.Row) *analyticsv1.Row {
	t := r.Totals()
	out := &analyticsv1.Row{Key: r.Key, Label: r.Label}
	want := func(m analytics.Metric) bool {
		for _, x := range q.Metrics {
			if x == m {
				return true
			}
		}
		return false
	}
	i64 := func(v int64) *int64 { return &v }
	f64 := func(v float64) *float64 { return &v }
	if want(analytics.OrderCount) || want(analytics.AverageOrderValue) || want(analytics.RefundRate) || want(analytics.ReturningCustomerRate) {
		out.OrderCount = i64(t.Orders)
	}
	if want(analytics.UnitsSold) {
		out.UnitsSold = i64(t.Units)
	}
	if want(analytics.NewCustomers) {
		out.NewCustomers = i64(t.NewCustomers)
	}
	if want(analytics.ConversionRate) {
		out.ConversionRate = f64(r.Value(analytics.ConversionRate, ""))
		out.Sessions, out.ConvertedSessions = i64(r.Sessions.Sessions), i64(r.Sessions.Converted)
	}
	if want(analytics.CartAbandonmentRate) {
		out.CartAbandonmentRate = f64(r.Value(analytics.CartAbandonmentRate, ""))
		out.CartSessions, out.AbandonedCartSessions = i64(r.Sessions.Cart), i64(r.Sessions.Abandoned)
	}
	if want(analytics.RefundRate) {
		out.RefundRate = f64(r.Value(analytics.RefundRate, ""))
		out.RefundedOrders = i64(t.RefundedOrders)
	}
	if want(analytics.ReturningCustomerRate) {
		out.ReturningCustomerRate = f64(r.Value(analytics.ReturningCustomerRate, ""))
		out.ReturningOrders = i64(t.ReturningOrders)
	}
	if want(analytics.TotalSales) || want(analytics.NetSales) || want(analytics.AverageOrderValue) {
		for _, s := range r.Sales {
			cs := &analyticsv1.CurrencySales{Currency: s.Currency, OrderCount: s.Orders}
			if want(analytics.TotalSales) {
				cs.TotalSales = i64(s.Gross)
			}
			if want(analytics.NetSales) {
				cs.NetSales = i64(s.Net())
			}
			if want(analytics.AverageOrderValue) {
				cs.AverageOrderValue = i64(s.AverageOrderValue())
			}
			out.Sales = append(out.Sales, cs)
		}
	}
	return out
}

// csvHeader tells the handler that the REST caller accepts CSV.
const csvHeader = "X-Shop-Analytics-Format"

// csvExport serves the REST analytics routes: a caller that accepts
// text/csv (and not JSON first), or asked for "format": "csv", gets the
// answer's rows as CSV. Everything else (errors included) passes through
// as the REST route answers it.
func csvExport(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wantCSV := acceptsCSV(r.Header.Get("Accept"))
		r = r.Clone(r.Context())
		r.Header.Del(csvHeader)
		// The recorded answer is read here, so it comes uncompressed.
		r.Header.Del("Accept-Encoding")
		if wantCSV {
			r.Header.Set("Accept", "application/json")
			r.Header.Set(csvHeader, "csv")
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		res := rec.Result()
		var out analyticsv1.GetSalesAnalyticsResponse
		if res.StatusCode == http.StatusOK && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") &&
			jsonUnmarshal.Unmarshal(rec.Body.Bytes(), &out) == nil && (wantCSV || out.GetCsv() != "") {
			csv := out.GetCsv()
			for k, v := range res.Header {
				if k != "Content-Type" && k != "Content-Length" {
					w.Header()[k] = v
				}
			}
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="analytics.csv"`)
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(csv))
			return
		}
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// acceptsCSV reports whether an Accept header prefers text/csv to JSON.
func acceptsCSV(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "text/csv":
			return true
		case "application/json", "*/*":
			return false
		}
	}
	return false
}
