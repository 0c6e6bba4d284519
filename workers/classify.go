package workers

import (
	"context"

	"go.temporal.io/sdk/interceptor"

	"github.com/shopkit/shop/internal/failure"
)

// classifyErrors makes every activity's permanent errors non-retryable in
// one place, so no activity retries a data error until its policy runs out
// (or forever), whoever wrote it.
type classifyErrors struct {
	interceptor.WorkerInterceptorBase
}

func (*classifyErrors) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &classifyActivity{}
	i.Next = next
	return i
}

type classifyActivity struct {
	interceptor.ActivityInboundInterceptorBase
}

func (c *classifyActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	res, err := c.Next.ExecuteActivity(ctx, in)
	return res, failure.ForActivity(err)
}
