// Package retrain holds the activities of the recommender's retraining
// (workflows/retrain): snapshot the signals, evaluate a candidate against
// the live model on a time-split holdout, train and store the winner,
// publish it. Training runs for minutes on a big shop, so the training
// activities heartbeat, and checkpoint the learned blend in the heartbeat
// so that a retry on another worker resumes after it.
package retrain

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/shopkit/shop/internal/failure"
	"github.com/shopkit/shop/recommender"
	"github.com/shopkit/shop/recommender/eval"
	"github.com/shopkit/shop/recommender/modelstore"
	"github.com/shopkit/shop/recommender/signals"
)

// Error types the workflow does not retry.
const (
	ErrTypeUnknownCandidate = "UnknownCandidate"
	ErrTypeNoSnapshot       = "NoSnapshot"
	ErrTypeModelGone        = "ModelGone"
	// ErrTypeLiveChanged: another model went live (or was pinned by a
	// rollback) since the run judged its candidate; it is not published.
	ErrTypeLiveChanged = "LiveChanged"
)

// CheckCandidates refuses an empty list, a duplicate or nameless
// candidate, and a preset that does not exist (deterministic: it only reads
// Presets, so the workflow calls it too).
func CheckCandidates(cs []Candidate) error {
	if len(cs) == 0 || len(cs) > 10 {
		return fmt.Errorf("want 1 to 10 candidates, have %d", len(cs))
	}
	seen := map[string]bool{}
	for _, c := range cs {
		switch {
		case c.Name == "":
			return errors.New("a candidate has no name")
		case seen[c.Name]:
			return fmt.Errorf("candidate %q appears twice", c.Name)
		case c.Config == nil && Presets[c.Name] == nil:
			return fmt.Errorf("no training preset %q (have default, deep)", c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

// Presets are the named training configurations a candidate may use.
var Presets = map[string]func() recommender.Config{
	"default": recommender.DefaultConfig,
	// deep: more factors and neighbours, slower to train.
	"deep": func() recommender.Config {
		c := recommender.DefaultConfig()
		c.ALS.Factors, c.KNNNeighbours = 128, 200
		return c
	},
}

// Candidate is a training configuration to try: a preset by name, or a
// whole Config (which wins when set).
type Candidate struct {
	Name   string
	Config *recommender.Config `json:",omitempty"`
}

func (c Candidate) config() (recommender.Config, error) {
	if c.Config != nil {
		return *c.Config, nil
	}
	preset, ok := Presets[c.Name]
	if !ok {
		return recommender.Config{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("no training preset %q", c.Name), ErrTypeUnknownCandidate, nil)
	}
	return preset(), nil
}

// Activities run the retraining's steps.
type Activities struct {
	Pool   *pgxpool.Pool
	Models *modelstore.Store
	// HeartbeatEvery is how often a training step heartbeats (default 10s).
	HeartbeatEvery time.Duration
}

// SnapshotInfo describes a stored snapshot of the signals.
type SnapshotInfo struct {
	ID                      string
	TakenAt                 time.Time
	Interactions, Items     int
	Purchases, Views, Carts int
}

func info(id string, s signals.Snapshot) SnapshotInfo {
	return SnapshotInfo{ID: id, TakenAt: s.TakenAt, Interactions: len(s.Interactions), Items: len(s.Items),
		Purchases: s.Purchases, Views: s.Views, Carts: s.Carts}
}

// SnapshotSignals reads the signals once and stores them under id, so each
// later step (and each retry) trains on the same data; a snapshot that
// exists already is kept. All but the keep newest snapshots are deleted.
func (a *Activities) SnapshotSignals(ctx context.Context, id string, keep int) (SnapshotInfo, error) {
	if s, err := signals.Load(ctx, a.Pool, id); err == nil {
		return info(id, s), nil
	} else if !errors.Is(err, signals.ErrNoSnapshot) {
		return SnapshotInfo{}, failure.ForActivity(err)
	}
	s, err := signals.Read(ctx, a.Pool)
	if err != nil {
		return SnapshotInfo{}, failure.ForActivity(err)
	}
	if err := signals.Save(ctx, a.Pool, id, s); err != nil {
		return SnapshotInfo{}, failure.ForActivity(err)
	}
	if _, err := signals.Prune(ctx, a.Pool, max(keep, 1)); err != nil {
		return SnapshotInfo{}, failure.ForActivity(err)
	}
	return info(id, s), nil
}

// Live is the live model when a run begins.
type Live struct {
	Version string // "" when none is live
	Pinned  bool   // an operator's rollback pinned it
}

// LiveModel answers the live model's version and whether it is pinned.
func (a *Activities) LiveModel(ctx context.Context) (Live, error) {
	v, pinned, err := a.Models.LiveInfo(ctx)
	if errors.Is(err, modelstore.ErrNoLive) {
		return Live{}, nil
	}
	return Live{Version: v, Pinned: pinned}, failure.ForActivity(err)
}

// EvaluateInput names what to judge.
type EvaluateInput struct {
	Snapshot    string
	Candidate   Candidate
	LiveVersion string // "" when nothing is live
	Split       eval.Split
	K           int
	Resamples   int
	MaxUsers    int     // test users judged at most (0: all)
	Level       float64 // of the bootstrap interval (0: 0.95)
}

// Evaluation is a candidate's verdict.
type Evaluation struct {
	Candidate string
	Verdict   eval.Verdict
	Report    string
	TrainTime time.Duration
}

// checkpoint is what a training step heartbeats: the stage it reached and,
// once learned, the blend (a retry skips learning it again).
type checkpoint struct {
	Stage string
	Blend *recommender.Blend `json:",omitempty"`
}

// EvaluateCandidate trains the candidate on the holdout's training share
// and judges it against the live model and popular on the holdout.
func (a *Activities) EvaluateCandidate(ctx context.Context, in EvaluateInput) (Evaluation, error) {
	cfg, err := in.Candidate.config()
	if err != nil {
		return Evaluation{}, err
	}
	hb := a.startHeartbeat(ctx)
	defer hb.stop()
	snap, err := a.loadSnapshot(ctx, in.Snapshot)
	if err != nil {
		return Evaluation{}, err
	}
	var live *recommender.Model
	var seenUntil time.Time
	unreadable := ""
	if in.LiveVersion != "" {
		live, err = a.Models.Load(ctx, in.LiveVersion)
		switch {
		case errors.Is(err, recommender.ErrModelFormat):
			// Written by an older build: it cannot serve either, so the
			// candidate only has to beat popular.
			unreadable = fmt.Sprintf("the live model %s cannot be read by this build (%v); judged against popular alone\n", in.LiveVersion, err)
		case errors.Is(err, modelstore.ErrNotFound):
			return Evaluation{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeModelGone, err)
		case err != nil:
			return Evaluation{}, failure.ForActivity(err)
		default:
			seenUntil = live.Data.Ref
		}
	}
	h := eval.NewHoldout(snap.Interactions, in.Split, in.MaxUsers, seenUntil)
	start := time.Now()
	m, err := a.train(ctx, hb, h.Train, snap.Items, cfg)
	if err != nil {
		return Evaluation{}, err
	}
	ev := Evaluation{Candidate: in.Candidate.Name, TrainTime: time.Since(start)}
	hb.set("judging")
	level := in.Level
	if level == 0 {
		level = 0.95
	}
	ev.Verdict = eval.Judge(m, live, h, in.K, in.Resamples, level)
	ev.Report = unreadable + ev.Verdict.Report()
	return ev, nil
}

// TrainInput asks for the final model of a candidate on the whole snapshot.
type TrainInput struct {
	Snapshot  string
	Candidate Candidate
	Version   string
	Report    string // the evaluation, stored with the model
}

// ModelInfo describes a stored model.
type ModelInfo struct {
	Version                    string
	Users, Items, Interactions int
	MemoryBytes                int64
	TrainTime                  time.Duration
}

// TrainModel trains the candidate on the whole snapshot and stores it
// (not yet live) under in.Version; a version stored already (by an attempt
// that died before reporting) is kept, not trained again.
func (a *Activities) TrainModel(ctx context.Context, in TrainInput) (ModelInfo, error) {
	cfg, err := in.Candidate.config()
	if err != nil {
		return ModelInfo{}, err
	}
	hb := a.startHeartbeat(ctx)
	defer hb.stop()
	if ok, err := a.Models.Exists(ctx, in.Version); err != nil {
		return ModelInfo{}, failure.ForActivity(err)
	} else if ok {
		m, err := a.Models.Load(ctx, in.Version)
		if err != nil {
			return ModelInfo{}, failure.ForActivity(err)
		}
		return ModelInfo{Version: in.Version, Users: m.Version.Users, Items: m.Version.Items,
			Interactions: m.Version.Interactions, MemoryBytes: m.MemoryBytes()}, nil
	}
	snap, err := a.loadSnapshot(ctx, in.Snapshot)
	if err != nil {
		return ModelInfo{}, err
	}
	start := time.Now()
	m, err := a.train(ctx, hb, snap.Interactions, snap.Items, cfg)
	if err != nil {
		return ModelInfo{}, err
	}
	mi := ModelInfo{Version: in.Version, Users: m.Version.Users, Items: m.Version.Items,
		Interactions: m.Version.Interactions, MemoryBytes: m.MemoryBytes(), TrainTime: time.Since(start)}
	report := fmt.Sprintf("trained on snapshot %s: %d users, %d items, %d interactions in %s\n%s",
		in.Snapshot, mi.Users, mi.Items, mi.Interactions, mi.TrainTime.Round(time.Millisecond), in.Report)
	hb.set("storing")
	if err := a.Models.SaveVersion(ctx, in.Version, m, report); err != nil {
		return ModelInfo{}, failure.ForActivity(err)
	}
	return mi, nil
}

// PublishInput asks to make Version live in place of Replacing.
type PublishInput struct {
	Version   string
	Replacing string // the live model the candidate was judged against ("" none)
}

// PublishModel makes in.Version live, only while in.Replacing is still the
// live model and not pinned; serving processes reload it at once.
func (a *Activities) PublishModel(ctx context.Context, in PublishInput) error {
	err := a.Models.PublishReplacing(ctx, in.Version, in.Replacing)
	switch {
	case errors.Is(err, modelstore.ErrLiveChanged), errors.Is(err, modelstore.ErrPinned):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeLiveChanged, err)
	case errors.Is(err, modelstore.ErrNotFound):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeModelGone, err)
	}
	return failure.ForActivity(err)
}

func (a *Activities) loadSnapshot(ctx context.Context, id string) (signals.Snapshot, error) {
	s, err := signals.Load(ctx, a.Pool, id)
	if errors.Is(err, signals.ErrNoSnapshot) || errors.Is(err, signals.ErrUnreadable) {
		return s, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNoSnapshot, err)
	}
	return s, failure.ForActivity(err)
}

// train learns the blend (or takes it from the last attempt's checkpoint)
// and fits the model; hb carries the blend from then on.
func (a *Activities) train(ctx context.Context, hb *heartbeat, ins []recommender.Interaction, items []recommender.Item, cfg recommender.Config) (*recommender.Model, error) {
	var cp checkpoint
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &cp) // unreadable: start over
	}
	if cp.Blend == nil {
		hb.set("learning the blend")
		b, err := cpuBound(ctx, func() (recommender.Blend, error) { return recommender.LearnBlend(ins, items, cfg) })
		if err != nil {
			return nil, err
		}
		cp.Blend = &b
		hb.keep(cp.Blend)
	} else {
		hb.keep(cp.Blend)
	}
	hb.set("fitting")
	return cpuBound(ctx, func() (*recommender.Model, error) { return recommender.Fit(ins, items, cfg, *cp.Blend) })
}

// heartbeat reports the activity alive every HeartbeatEvery from its start
// to its end, with the stage it reached and, once learned, the blend (a
// later stage keeps it, so a retry resumes after learning whatever failed).
type heartbeat struct {
	mu   sync.Mutex
	cp   checkpoint
	done chan struct{}
	wg   sync.WaitGroup
}

func (a *Activities) startHeartbeat(ctx context.Context) *heartbeat {
	every := a.HeartbeatEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	h := &heartbeat{cp: checkpoint{Stage: "starting"}, done: make(chan struct{})}
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &h.cp) // keep the last attempt's blend until replaced
	}
	h.beat(ctx)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-h.done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				h.beat(ctx)
			}
		}
	}()
	return h
}

func (h *heartbeat) beat(ctx context.Context) {
	h.mu.Lock()
	cp := h.cp
	h.mu.Unlock()
	activity.RecordHeartbeat(ctx, cp)
}

func (h *heartbeat) set(stage string) {
	h.mu.Lock()
	h.cp.Stage = stage
	h.mu.Unlock()
}

func (h *heartbeat) keep(b *recommender.Blend) {
	h.mu.Lock()
	h.cp.Blend = b
	h.mu.Unlock()
}

// stop ends the heartbeats and waits for the last one.
func (h *heartbeat) stop() {
	close(h.done)
	h.wg.Wait()
}

// cpuBound runs f and answers early when ctx ends (a cancelled or timed
// out attempt gives its worker slot back; f finishes in the background).
func cpuBound[T any](ctx context.Context, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() { v, err := f(); ch <- result{v, err} }()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}
