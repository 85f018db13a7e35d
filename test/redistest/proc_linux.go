package redistest

import "syscall"

// sysProcAttr kills the server if the process that started it dies, so a
// crashed or interrupted test run leaves no redis-server behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
