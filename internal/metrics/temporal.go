package metrics

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
)

var (
	meterOnce     sync.Once
	meterProvider metric.MeterProvider
)

// MeterProvider is an OpenTelemetry meter provider whose instruments are
// served with the registry (through OpenTelemetry's Prometheus exporter).
func MeterProvider() metric.MeterProvider {
	meterOnce.Do(func() {
		exp, err := otelprom.New(otelprom.WithRegisterer(Registry), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
		if err != nil {
			meterProvider = noop.NewMeterProvider()
			return
		}
		meterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	})
	return meterProvider
}

// TemporalMetrics is the Temporal SDK's metrics handler: the client's
// requests and, in the worker, task latencies, schedule-to-start latencies,
// poller counts, sticky cache, and workflow and activity failures, all
// named temporal_* on /metrics.
func TemporalMetrics() client.MetricsHandler {
	return temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                MeterProvider().Meter("temporal-sdk-go"),
		UseMonotonicCounters: true,
	})
}

var (
	activityRuns = factory.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "activity_executions_total",
		Help: "Activity attempts by activity type and outcome: completed, retryable_error (Temporal retries it), " +
			"non_retryable_error (the workflow gets the failure), canceled, async (completed later)."},
		[]string{"activity", "outcome"})
	activityDuration = factory.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "activity_duration_seconds",
		Help: "Time one activity attempt ran, by activity type.", Buckets: latencyBuckets}, []string{"activity"})
)

// ActivityOutcomes counts every activity attempt by outcome. Put it first
// among the worker's interceptors, so it sees the error Temporal gets.
func ActivityOutcomes() interceptor.WorkerInterceptor { return &activityOutcomes{} }

type activityOutcomes struct {
	interceptor.WorkerInterceptorBase
}

func (*activityOutcomes) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &activityOutcome{}
	i.Next = next
	return i
}

type activityOutcome struct {
	interceptor.ActivityInboundInterceptorBase
}

func (a *activityOutcome) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	start := time.Now()
	res, err := a.Next.ExecuteActivity(ctx, in)
	name := activity.GetInfo(ctx).ActivityType.Name
	activityDuration.WithLabelValues(name).Observe(time.Since(start).Seconds())
	activityRuns.WithLabelValues(name, ActivityOutcome(err)).Inc()
	return res, err
}

// ActivityOutcome names what an activity attempt's error means.
func ActivityOutcome(err error) string {
	var app *temporal.ApplicationError
	switch {
	case err == nil:
		return "completed"
	case errors.Is(err, activity.ErrResultPending):
		return "async"
	case temporal.IsCanceledError(err) || errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &app) && app.NonRetryable():
		return "non_retryable_error"
	}
	return "retryable_error"
}
