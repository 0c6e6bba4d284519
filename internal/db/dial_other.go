//go:build !linux

package db

import (
	"syscall"
	"time"
)

// userTimeout is Linux's alone; keepalive still applies elsewhere.
func userTimeout(time.Duration) func(network, address string, c syscall.RawConn) error { return nil }
