package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is one shop process (`shop api`, `shop worker`) this program runs,
// in its own process group, its output appended to a log file. It dies with
// this program (Linux), and its pid is kept in a file so that a run after
// one that died anyway first kills what is left holding the ports.
type proc struct {
	name     string
	bin      string
	args     []string
	env      []string
	logPath  string
	pidPath  string // "" = none
	readyURL string // polled after start; "" = none
	cmd      *exec.Cmd
	done     chan struct{}
}

func (p *proc) start(ctx context.Context) error {
	log, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "\n==== %s chaos: starting %s\n", time.Now().UTC().Format(time.RFC3339), p.name)
	if p.pidPath != "" {
		if err := killLeftover(p.pidPath, p.bin); err != nil {
			_ = log.Close()
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return fmt.Errorf("%s: %w", p.name, err)
	}
	p.cmd, p.done = cmd, make(chan struct{})
	if p.pidPath != "" {
		if err := os.WriteFile(p.pidPath, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	go func() {
		_ = cmd.Wait()
		_ = log.Close()
		if p.pidPath != "" {
			_ = os.Remove(p.pidPath)
		}
		close(p.done)
	}()
	if p.readyURL == "" {
		return nil
	}
	return waitFor(ctx, 90*time.Second, p.name+" ready", func() bool {
		select {
		case <-p.done:
			return false
		default:
		}
		res, err := http.Get(p.readyURL)
		if err != nil {
			return false
		}
		_ = res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
}

func (p *proc) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill sends sig to the process group and waits (SIGKILL after 20 s).
func (p *proc) kill(sig syscall.Signal) {
	if !p.running() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// killLeftover kills the process group of the pid in pidPath, left by a run
// that died before stopping it, if that pid still runs bin (and not a process
// that reused the pid), and removes the file.
func killLeftover(pidPath, bin string) error {
	b, err := os.ReadFile(pidPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err == nil && pid > 1 && runs(pid, bin) {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		err = waitFor(context.Background(), 10*time.Second, fmt.Sprintf("leftover pid %d gone", pid), func() bool {
			return !runs(pid, bin)
		})
		if err != nil {
			return err
		}
	}
	return os.Remove(pidPath)
}

// runs reports whether process pid runs the executable bin.
func runs(pid int, bin string) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return false // gone, a zombie, or not ours to see
	}
	want, err := filepath.EvalSymlinks(bin)
	if err != nil {
		want = bin
	}
	got, err := filepath.EvalSymlinks(exe)
	if err != nil {
		got = exe
	}
	return got == want
}

// waitFor polls cond every 250 ms until it holds or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %s", what, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return nil
}

// stack runs deploy/stack.sh for the private services (own DATA_DIR, own
// ports), so the shared ones are never touched.
type stack struct {
	root string
	env  []string
}

func (s *stack) run(args ...string) error {
	cmd := exec.Command(filepath.Join(s.root, "deploy", "stack.sh"), args...)
	cmd.Dir = s.root
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("deploy/stack.sh %v: %w", args, err)
	}
	return nil
}
