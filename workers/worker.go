// Package workers registers every workflow and activity on the task queue.
package workers

import (
	fulfilmentact "github.com/shopkit/shop/activities/fulfilment"
	"github.com/shopkit/shop/internal/carrier"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/returns"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/jackc/pgx/v5/pgxpool"

	analyticsact "github.com/shopkit/shop/activities/analytics"
	cartreminderact "github.com/shopkit/shop/activities/cartreminder"
	catalogact "github.com/shopkit/shop/activities/catalog"
	emailact "github.com/shopkit/shop/activities/email"
	eventstoreact "github.com/shopkit/shop/activities/eventstore"
	imagesact "github.com/shopkit/shop/activities/images"
	ordersact "github.com/shopkit/shop/activities/orders"
	paymentsact "github.com/shopkit/shop/activities/payments"
	retrainact "github.com/shopkit/shop/activities/retrain"
	returnsact "github.com/shopkit/shop/activities/returns"
	searchact "github.com/shopkit/shop/activities/search"
	"github.com/shopkit/shop/internal/analytics"
	"github.com/shopkit/shop/internal/cart"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/events"
	"github.com/shopkit/shop/internal/failure"
	"github.com/shopkit/shop/internal/images"
	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/metrics"
	"github.com/shopkit/shop/internal/objectstore"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/payments"
	"github.com/shopkit/shop/internal/search"
	"github.com/shopkit/shop/recommender/modelstore"
	analyticswf "github.com/shopkit/shop/workflows/analytics"
	"github.com/shopkit/shop/workflows/cartreminder"
	"github.com/shopkit/shop/workflows/catalogimport"
	"github.com/shopkit/shop/workflows/checkout"
	"github.com/shopkit/shop/workflows/email"
	"github.com/shopkit/shop/workflows/eventstore"
	fulfilmentwf "github.com/shopkit/shop/workflows/fulfilment"
	imageswf "github.com/shopkit/shop/workflows/images"
	"github.com/shopkit/shop/workflows/refund"
	"github.com/shopkit/shop/workflows/retrain"
	returnswf "github.com/shopkit/shop/workflows/returns"
	"github.com/shopkit/shop/workflows/searchsync"
)

// Deps are the clients the activities use.
type Deps struct {
	Catalog *catalog.Store
	Pool    *pgxpool.Pool
	// Elastic is nil when search runs on PostgreSQL alone.
	Elastic     *search.Elastic
	SearchAlias string
	// Orders, Stripe and Mail run checkout, refunds and emails.
	Orders *orders.Store
	Stripe *payments.Stripe
	Mail   *mail.Sender
	// Carts are read by the cart reminders, whose links start at ShopURL
	// and whose unsubscribe tokens are signed with CartReminderSecret.
	Carts              *cart.Store
	ShopURL            string
	CartReminderSecret string
	// Fulfilment keeps shipments; Carriers book their labels; alerts go
	// to StaffEmail; Deadlines bound each step (zero: the defaults).
	Fulfilment *fulfilment.Store
	Carriers   carrier.Carriers
	StaffEmail string
	Deadlines  fulfilmentact.Deadlines
	// Returns keeps returns (with the shop's return policy); nil: the
	// Return workflow is not registered.
	Returns *returns.Store
	// Events is the behaviour event store, whose partitions the
	// EventMaintenance workflow keeps.
	Events *events.Store
	// Analytics keeps the sales rollups (AnalyticsRollup and
	// AnalyticsBackfill); nil: a store over Pool with the defaults.
	Analytics *analytics.Store
	// Images and ImageObjects process uploaded product images (nil: the
	// ProcessProductImage workflow is not registered), rendering at most
	// ImageConcurrency at once (0: one).
	Images           *images.Store
	ImageObjects     objectstore.Store
	ImageLimits      images.Limits
	ImageConcurrency int
	// GuardActivityOptions (tests) fails a workflow task that calls an
	// activity without a timeout and bounded retries (failure.BoundsGuard).
	GuardActivityOptions bool
}

// New returns a worker for taskQueue with everything registered.
func New(c client.Client, taskQueue string, d Deps) worker.Worker {
	opts := worker.Options{
		// Let in-flight activities finish on shutdown (deploys) before
		// they are handed to another worker.
		WorkerStopTimeout: StopTimeout,
		// Activity outcomes are counted outermost, as Temporal sees them.
		Interceptors: []interceptor.WorkerInterceptor{metrics.ActivityOutcomes(), &classifyErrors{}},
	}
	if d.GuardActivityOptions {
		opts.Interceptors = append(opts.Interceptors, failure.BoundsGuard())
		// The guard's panic fails the workflow (and the test) at once
		// instead of blocking it for a retry that cannot succeed.
		opts.WorkflowPanicPolicy = worker.FailWorkflow
	}
	w := worker.New(c, taskQueue, opts)
	Register(w, d)
	return w
}

// NewRetrain returns a worker for the recommender's retraining on its own
// task queue, running one activity at a time: a training holds its CPU for
// minutes, and checkouts on the main queue must not wait behind it.
func NewRetrain(c client.Client, taskQueue string, pool *pgxpool.Pool) worker.Worker {
	w := worker.New(c, taskQueue, worker.Options{
		WorkerStopTimeout:                  StopTimeout,
		MaxConcurrentActivityExecutionSize: 1,
		Interceptors:                       []interceptor.WorkerInterceptor{metrics.ActivityOutcomes(), &classifyErrors{}},
	})
	registerRetrain(w, pool)
	return w
}

func registerRetrain(w worker.Registry, pool *pgxpool.Pool) {
	w.RegisterWorkflowWithOptions(retrain.Workflow, workflow.RegisterOptions{Name: retrain.Name})
	w.RegisterActivity(&retrainact.Activities{Pool: pool, Models: modelstore.New(pool)})
}

// Register adds the workflows and activities to w (also used by tests).
func Register(w worker.Registry, d Deps) {
	w.RegisterWorkflowWithOptions(catalogimport.Workflow, workflow.RegisterOptions{Name: catalogimport.Name})
	w.RegisterActivity(&catalogact.Activities{Store: d.Catalog})
	w.RegisterWorkflowWithOptions(searchsync.ReindexWorkflow, workflow.RegisterOptions{Name: searchsync.ReindexName})
	w.RegisterActivity(&searchact.Activities{Pool: d.Pool, Elastic: d.Elastic, Alias: d.SearchAlias})

	w.RegisterWorkflowWithOptions(checkout.Workflow, workflow.RegisterOptions{Name: checkout.Name})
	w.RegisterWorkflowWithOptions(refund.Workflow, workflow.RegisterOptions{Name: refund.Name})
	w.RegisterWorkflowWithOptions(refund.CancelWorkflow, workflow.RegisterOptions{Name: refund.CancelName})
	w.RegisterWorkflowWithOptions(email.Workflow, workflow.RegisterOptions{Name: email.Name})
	w.RegisterActivity(&ordersact.Activities{Store: d.Orders})
	w.RegisterActivity(&paymentsact.Activities{Stripe: d.Stripe, Orders: d.Orders})
	w.RegisterActivity(&emailact.Activities{Pool: d.Pool, Sender: d.Mail})
	w.RegisterWorkflowWithOptions(fulfilmentwf.Workflow, workflow.RegisterOptions{Name: fulfilmentwf.Name})
	w.RegisterWorkflowWithOptions(fulfilmentwf.ShipmentWorkflow, workflow.RegisterOptions{Name: fulfilmentwf.ShipmentName})
	w.RegisterActivity(&fulfilmentact.Activities{Store: d.Fulfilment, Orders: d.Orders, Carriers: d.Carriers,
		StaffTo: d.StaffEmail, ShopURL: d.ShopURL, Deadlines: d.Deadlines})
	if d.Returns != nil {
		w.RegisterWorkflowWithOptions(returnswf.Workflow, workflow.RegisterOptions{Name: returnswf.Name})
		w.RegisterActivity(&returnsact.Activities{Store: d.Returns, Orders: d.Orders, Shipments: d.Fulfilment,
			Deadlines: d.Deadlines})
	}
	w.RegisterWorkflowWithOptions(cartreminder.Workflow, workflow.RegisterOptions{Name: cartreminder.Name})
	w.RegisterActivity(&cartreminderact.Activities{Carts: d.Carts, ShopURL: d.ShopURL, Secret: d.CartReminderSecret})
	w.RegisterWorkflowWithOptions(eventstore.Workflow, workflow.RegisterOptions{Name: eventstore.Name})
	w.RegisterActivity(&eventstoreact.Activities{Store: d.Events})
	store := d.Analytics
	if store == nil {
		store = analytics.NewStore(d.Pool, analytics.Config{})
	}
	w.RegisterWorkflowWithOptions(analyticswf.Rollup, workflow.RegisterOptions{Name: analyticswf.RollupName})
	w.RegisterWorkflowWithOptions(analyticswf.Backfill, workflow.RegisterOptions{Name: analyticswf.BackfillName})
	w.RegisterActivity(&analyticsact.Activities{Store: store})
	if d.Images != nil && d.ImageObjects != nil {
		w.RegisterWorkflowWithOptions(imageswf.Workflow, workflow.RegisterOptions{Name: imageswf.Name})
		w.RegisterActivity(imagesact.NewActivities(d.Images, d.ImageObjects, d.ImageLimits, d.ImageConcurrency))
	}
	registerRetrain(w, d.Pool) // also here, for a single-queue setup (tests)
}
