// Package retrain is the RetrainRecommender workflow: run nightly by the
// Temporal Schedule recommender-retrain (and by `shop recommender
// retrain`), it snapshots the signals, evaluates every candidate
// configuration on a time-split holdout against the live model and
// popular, and trains, stores and publishes the best candidate only when
// it beats both by more than the noise. Its progress and the evaluation
// report are the "progress" query; a rejected run says why in its result.
package retrain

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	retrainact "github.com/shopkit/shop/activities/retrain"
	"github.com/shopkit/shop/internal/failure"
	"github.com/shopkit/shop/recommender/eval"
)

// Names shown in the Temporal UI.
const (
	Name          = "RetrainRecommender"
	ScheduleID    = "recommender-retrain"
	ProgressQuery = "progress"
)

// Stages of a run.
const (
	StageSnapshot  = "snapshot"
	StageEvaluate  = "evaluate"
	StageTrain     = "train"
	StagePublish   = "publish"
	StagePublished = "published"
	StageRejected  = "rejected"
)

// Input tunes a run; the zero value is the nightly run.
type Input struct {
	Candidates []retrainact.Candidate // default: the "default" preset; at most 10
	Split      eval.Split             // default: global-temporal (the latest 20 % of the shop's time)
	K          int                    // cut-off of the metrics (default 10)
	Resamples  int                    // bootstrap resamples (default 1000)
	MaxUsers   int                    // test users judged at most (default 5000)
	Keep       int                    // snapshots kept (default 3)
}

func (in *Input) defaults() {
	if len(in.Candidates) == 0 {
		in.Candidates = []retrainact.Candidate{{Name: "default"}}
	}
	if in.Split == "" {
		in.Split = eval.GlobalTemporal
	}
	if in.K == 0 {
		in.K = 10
	}
	if in.Resamples == 0 {
		in.Resamples = 1000
	}
	if in.MaxUsers == 0 {
		in.MaxUsers = 5000
	}
	if in.Keep == 0 {
		in.Keep = 3
	}
}

// Progress is where a run stands; the finished run's Progress is its result.
type Progress struct {
	Stage       string
	Snapshot    *retrainact.SnapshotInfo `json:",omitempty"`
	LiveVersion string                   // the model live when the run began ("" none)
	Evaluations []retrainact.Evaluation
	Chosen      string                // the candidate trained and published
	Model       *retrainact.ModelInfo `json:",omitempty"`
	Published   bool
	Why         string // why the run published, or why it kept the live model
}

// Report is the run for people: the verdict of every candidate.
func (p Progress) Report() string {
	var b strings.Builder
	if p.Snapshot != nil {
		fmt.Fprintf(&b, "snapshot %s: %d purchases, %d views, %d cart adds, %d products\n",
			p.Snapshot.ID, p.Snapshot.Purchases, p.Snapshot.Views, p.Snapshot.Carts, p.Snapshot.Items)
	}
	live := p.LiveVersion
	if live == "" {
		live = "none"
	}
	fmt.Fprintf(&b, "live model at the start: %s\n", live)
	for _, e := range p.Evaluations {
		fmt.Fprintf(&b, "\ncandidate %q (trained in %s):\n%s", e.Candidate, e.TrainTime.Round(time.Millisecond), e.Report)
	}
	fmt.Fprintf(&b, "\n%s: %s\n", p.Stage, p.Why)
	return b.String()
}

// ErrTypeBadInput: a run was started with an impossible input.
const ErrTypeBadInput = "RetrainBadInput"

func (in Input) check() error {
	if in.K < 1 || in.K > 100 || in.Resamples < 100 || in.Resamples > 100_000 || in.MaxUsers < 1 || in.MaxUsers > 1_000_000 ||
		in.Keep < 1 || (in.Split != eval.UserTemporal && in.Split != eval.GlobalTemporal) {
		return fmt.Errorf("k %d (1-100), resamples %d (100-100000), max users %d (1-1000000), keep %d (at least 1), split %q",
			in.K, in.Resamples, in.MaxUsers, in.Keep, in.Split)
	}
	return retrainact.CheckCandidates(in.Candidates)
}

// Workflow runs one retraining.
func Workflow(ctx workflow.Context, in Input) (Progress, error) {
	in.defaults()
	p := Progress{Stage: StageSnapshot}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (Progress, error) { return p, nil }); err != nil {
		return p, err
	}
	if err := in.check(); err != nil {
		return p, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeBadInput, nil)
	}
	short := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: 2 * time.Minute, MaximumAttempts: 8,
			NonRetryableErrorTypes: []string{failure.TypeInvalidData, retrainact.ErrTypeLiveChanged, retrainact.ErrTypeModelGone}},
	})
	// Training heartbeats; a dead worker is noticed within a minute and the
	// next attempt resumes from the checkpointed blend. Each candidate gets
	// at most 4 hours, all attempts included.
	long := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    2 * time.Hour,
		ScheduleToCloseTimeout: 4 * time.Hour,
		HeartbeatTimeout:       time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: 5 * time.Minute, MaximumAttempts: 3,
			NonRetryableErrorTypes: []string{failure.TypeInvalidData, retrainact.ErrTypeUnknownCandidate,
				retrainact.ErrTypeNoSnapshot, retrainact.ErrTypeModelGone}},
	})
	var a *retrainact.Activities
	run := workflow.GetInfo(ctx).WorkflowExecution.RunID
	stamp := workflow.Now(ctx).UTC().Format("20060102T150405Z")

	var snap retrainact.SnapshotInfo
	if err := workflow.ExecuteActivity(short, a.SnapshotSignals, "retrain-"+run, in.Keep).Get(ctx, &snap); err != nil {
		return p, err
	}
	p.Snapshot = &snap
	if snap.Interactions == 0 {
		p.Stage, p.Why = StageRejected, "no purchases, views or cart adds yet: nothing to learn from"
		return p, nil
	}
	var live retrainact.Live
	if err := workflow.ExecuteActivity(short, a.LiveModel).Get(ctx, &live); err != nil {
		return p, err
	}
	p.LiveVersion = live.Version
	if live.Pinned {
		p.Stage = StageRejected
		p.Why = fmt.Sprintf("the live model %s is pinned by a rollback: nothing is trained until `shop recommender unpin`", live.Version)
		return p, nil
	}

	p.Stage = StageEvaluate
	for _, c := range in.Candidates {
		var ev retrainact.Evaluation
		err := workflow.ExecuteActivity(long, a.EvaluateCandidate, retrainact.EvaluateInput{
			Snapshot: snap.ID, Candidate: c, LiveVersion: p.LiveVersion, Split: in.Split,
			K: in.K, Resamples: in.Resamples, MaxUsers: in.MaxUsers,
			// Picking the best of n candidates: each is held to 1 − 0.05/n.
			Level: 1 - 0.05/float64(len(in.Candidates)),
		}).Get(ctx, &ev)
		if err != nil {
			return p, err
		}
		p.Evaluations = append(p.Evaluations, ev)
	}
	verdicts := make([]eval.Verdict, len(p.Evaluations))
	for i, ev := range p.Evaluations {
		verdicts[i] = ev.Verdict
	}
	best := eval.Best(verdicts)
	if best < 0 {
		why := make([]string, len(p.Evaluations))
		for i, ev := range p.Evaluations {
			why[i] = fmt.Sprintf("%s: %s", ev.Candidate, ev.Verdict.Why)
		}
		p.Stage = StageRejected
		p.Why = "no candidate is published, the live model stays; " + strings.Join(why, "; ")
		return p, nil
	}

	chosen := p.Evaluations[best]
	p.Stage, p.Chosen = StageTrain, chosen.Candidate
	version := fmt.Sprintf("%s-%s", stamp, run[:min(8, len(run))])
	var mi retrainact.ModelInfo
	err := workflow.ExecuteActivity(long, a.TrainModel, retrainact.TrainInput{
		Snapshot: snap.ID, Candidate: in.Candidates[best], Version: version,
		Report: fmt.Sprintf("candidate %q\n%s", chosen.Candidate, chosen.Report),
	}).Get(ctx, &mi)
	if err != nil {
		return p, err
	}
	p.Model = &mi

	p.Stage = StagePublish
	err = workflow.ExecuteActivity(short, a.PublishModel, retrainact.PublishInput{Version: version, Replacing: p.LiveVersion}).Get(ctx, nil)
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.Type() == retrainact.ErrTypeLiveChanged {
		p.Stage = StageRejected
		p.Why = fmt.Sprintf("not published: %s since the run judged its candidate against %q; model %s stays stored (shop recommender rollback %s publishes it)",
			ae.Message(), p.LiveVersion, version, version)
		return p, nil
	}
	if err != nil {
		return p, err
	}
	p.Stage, p.Published = StagePublished, true
	p.Why = fmt.Sprintf("model %s (candidate %q) is live: %s", version, chosen.Candidate, chosen.Verdict.Why)
	return p, nil
}
