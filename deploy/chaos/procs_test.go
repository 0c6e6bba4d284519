package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A process left by a run that died is killed through its pid file; a pid
// that now runs another program is left alone.
func TestKillLeftoverByPidFile(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	require.NoError(t, err)
	left := exec.Command(sleep, "300")
	left.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, left.Start())
	exited := make(chan error, 1)
	go func() { exited <- left.Wait() }()
	t.Cleanup(func() { _ = syscall.Kill(-left.Process.Pid, syscall.SIGKILL) })
	pidPath := filepath.Join(t.TempDir(), "api-1.pid")
	require.NoError(t, os.WriteFile(pidPath, []byte(strconv.Itoa(left.Process.Pid)+"\n"), 0o644))

	// The pid runs sleep, not the shop binary: not ours.
	require.NoError(t, killLeftover(pidPath, "/bin/sh"))
	assert.True(t, runs(left.Process.Pid, sleep), "another program's process is left alone")
	assert.NoFileExists(t, pidPath)

	require.NoError(t, os.WriteFile(pidPath, []byte(strconv.Itoa(left.Process.Pid)+"\n"), 0o644))
	require.NoError(t, killLeftover(pidPath, sleep))
	assert.Error(t, <-exited, "killed")
	assert.NoFileExists(t, pidPath)

	require.NoError(t, killLeftover(pidPath, sleep), "no pid file, nothing to do")
}
