package cartreminder

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	cartreminderact "github.com/shopkit/shop/activities/cartreminder"
	emailact "github.com/shopkit/shop/activities/email"
	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/workflows/email"
)

var schedule = []time.Duration{time.Hour, 24 * time.Hour}

const userID = 7

// sent is one email the workflow sent, and when (since the start).
type sent struct {
	Key string
	At  time.Duration
}

type harness struct {
	env   *testsuite.TestWorkflowEnvironment
	start time.Time
	mu    sync.Mutex
	sent  []sent
	skip  string // what PrepareReminder answers
}

func newHarness(t *testing.T) *harness {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	h := &harness{env: s.NewTestWorkflowEnvironment()}
	env := h.env
	env.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: Name})
	env.RegisterWorkflowWithOptions(email.Workflow, workflow.RegisterOptions{Name: email.Name})
	env.RegisterActivity(&cartreminderact.Activities{})
	env.RegisterActivity(&emailact.Activities{})
	h.start = env.Now()
	var ra *cartreminderact.Activities
	env.OnActivity(ra.PrepareReminder, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r cartreminderact.Request) (cartreminderact.Prepared, error) {
			if h.skip != "" {
				return cartreminderact.Prepared{Skip: h.skip}, nil
			}
			return cartreminderact.Prepared{Email: emailact.Input{Key: r.Key, Kind: mail.KindCartReminder, To: "ada@example.com"}}, nil
		})
	var ea *emailact.Activities
	env.OnActivity(ea.SendEmail, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in emailact.Input) (emailact.Result, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.sent = append(h.sent, sent{in.Key, env.Now().Sub(h.start).Round(time.Minute)})
			return emailact.Result{MessageID: mail.MessageID(in.Key)}, nil
		})
	return h
}

// change signals a cart change at offset since the start.
func (h *harness) change(at time.Duration, version int64, items int) {
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(ChangedSignal, Change{Version: version, Items: items})
	}, at)
}

func (h *harness) run(t *testing.T) Result {
	h.env.ExecuteWorkflow(Name, Input{UserID: userID, Schedule: schedule})
	require.True(t, h.env.IsWorkflowCompleted())
	require.NoError(t, h.env.GetWorkflowError())
	var res Result
	require.NoError(t, h.env.GetWorkflowResult(&res))
	return res
}

func TestSendsTheScheduleAfterTheLastChange(t *testing.T) {
	h := newHarness(t)
	h.change(0, 1, 2)
	res := h.run(t)
	assert.Equal(t, []sent{{ReminderKey(userID, 1, 1), time.Hour}, {ReminderKey(userID, 2, 1), 24 * time.Hour}}, h.sent)
	assert.Equal(t, Result{Version: 1, Sent: 2, Reason: ReasonDone}, res)
}

func TestAChangeRestartsTheWaitAndTheSchedule(t *testing.T) {
	h := newHarness(t)
	h.change(0, 1, 1)
	h.change(30*time.Minute, 2, 2) // before the first reminder: it moves
	h.change(40*time.Minute, 1, 1) // late news of an older change: ignored
	h.change(2*time.Hour, 3, 3)    // after the first reminder: the schedule restarts
	res := h.run(t)
	assert.Equal(t, []sent{
		{ReminderKey(userID, 1, 2), 90 * time.Minute},
		{ReminderKey(userID, 1, 3), 3 * time.Hour},
		{ReminderKey(userID, 2, 3), 26 * time.Hour},
	}, h.sent)
	assert.Equal(t, Result{Version: 3, Sent: 2, Reason: ReasonDone}, res)
}

func TestEmptyingTheCartEndsIt(t *testing.T) {
	h := newHarness(t)
	h.change(0, 1, 1)
	h.change(2*time.Hour, 2, 0) // after reminder 1: checked out
	res := h.run(t)
	assert.Equal(t, []sent{{ReminderKey(userID, 1, 1), time.Hour}}, h.sent)
	assert.Equal(t, Result{Version: 2, Sent: 0, Reason: ReasonEmptied}, res)
	assert.Less(t, h.env.Now().Sub(h.start), 3*time.Hour, "ends at once, without waiting for the next reminder")
}

func TestACartFoundEmptyOrUnsubscribedGetsNothing(t *testing.T) {
	for _, skip := range []string{cartreminderact.SkipEmpty, cartreminderact.SkipOptedOut} {
		t.Run(skip, func(t *testing.T) {
			h := newHarness(t)
			h.skip = skip
			h.change(0, 1, 1)
			res := h.run(t)
			assert.Empty(t, h.sent)
			assert.Equal(t, Result{Version: 1, Sent: 0, Reason: skip}, res)
		})
	}
}

func TestManyChangesContinueAsNewWithTheState(t *testing.T) {
	h := newHarness(t)
	for v := range int64(maxChangesPerRun) {
		h.change(time.Duration(v)*time.Second, v+1, 1)
	}
	h.env.ExecuteWorkflow(Name, Input{UserID: userID, Schedule: schedule})
	require.True(t, h.env.IsWorkflowCompleted())
	err := h.env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, err, &can)
	assert.Equal(t, Name, can.WorkflowType.Name)
	assert.Empty(t, h.sent)
}

func TestAStartWithoutScheduleFails(t *testing.T) {
	h := newHarness(t)
	h.env.ExecuteWorkflow(Name, Input{UserID: userID})
	require.Error(t, h.env.GetWorkflowError())
}
