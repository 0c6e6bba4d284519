package main

import "syscall"

// childAttr puts a child in its own process group (so a kill reaches all of
// it) and has the kernel kill it when this program dies, even by SIGKILL.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
