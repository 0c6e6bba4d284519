// Package temporalclient connects to the Temporal frontend.
package temporalclient

import (
	"fmt"
	"log/slog"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/shopkit/shop/internal/metrics"
	"github.com/shopkit/shop/internal/telemetry"
)

// Options selects the Temporal frontend and namespace.
type Options struct {
	Address   string
	Namespace string
	Logger    *slog.Logger
}

func (o Options) client() (client.Options, error) {
	// Traces flow from the caller into workflows and activities (workers
	// made from the client inherit it); the SDK's metrics go to /metrics.
	tracing, err := telemetry.TemporalInterceptor()
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal: tracing: %w", err)
	}
	return client.Options{
		HostPort:       o.Address,
		Namespace:      o.Namespace,
		Logger:         tlog.NewStructuredLogger(o.Logger.With("component", "temporal")),
		Interceptors:   []interceptor.ClientInterceptor{tracing},
		MetricsHandler: metrics.TemporalMetrics(),
	}, nil
}

// Dial connects now and fails when the server is unreachable (workers,
// command-line tools).
func Dial(o Options) (client.Client, error) {
	opts, err := o.client()
	if err != nil {
		return nil, err
	}
	c, err := client.Dial(opts)
	if err != nil {
		return nil, fmt.Errorf("temporal: dial %s (namespace %s): %w", o.Address, o.Namespace, err)
	}
	return c, nil
}

// Lazy connects on first use, so the API can start (and report not-ready)
// while Temporal is still coming up.
func Lazy(o Options) (client.Client, error) {
	opts, err := o.client()
	if err != nil {
		return nil, err
	}
	c, err := client.NewLazyClient(opts)
	if err != nil {
		return nil, fmt.Errorf("temporal: %w", err)
	}
	return c, nil
}

// StartOnce are the options that start the workflow id, a business id, at
// most once: a repeated start joins the running workflow and never starts a
// second one, not even after the first has closed.
func StartOnce(id, taskQueue string, attrs ...temporal.SearchAttributeUpdate) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                taskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    temporal.NewSearchAttributes(attrs...),
	}
}
