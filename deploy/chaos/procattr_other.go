//go:build !linux

package main

import "syscall"

// childAttr puts a child in its own process group (so a kill reaches all of
// it); leftovers of a killed run are found by pid file.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
