// Package temporalclient connects to the Temporal frontend.
package temporalclient

import (
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// Options selects the Temporal frontend and namespace.
type Options struct {
	Address   string
	Namespace string
	Logger    *slog.Logger
}

func (o Options) client() client.Options {
	return client.Options{
		HostPort:  o.Address,
		Namespace: o.Namespace,
		Logger:    tlog.NewStructuredLogger(o.Logger.With("component", "temporal")),
	}
}

// Dial connects now and fails when the server is unreachable (workers,
// command-line tools).
func Dial(o Options) (client.Client, error) {
	c, err := client.Dial(o.client())
	if err != nil {
		return nil, fmt.Errorf("temporal: dial %s (namespace %s): %w", o.Address, o.Namespace, err)
	}
	return c, nil
}

// Lazy connects on first use, so the API can start (and report not-ready)
// while Temporal is still coming up.
func Lazy(o Options) (client.Client, error) {
	c, err := client.NewLazyClient(o.client())
	if err != nil {
		return nil, fmt.Errorf("temporal: %w", err)
	}
	return c, nil
}
