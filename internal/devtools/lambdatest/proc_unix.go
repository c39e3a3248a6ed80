//go:build unix

package lambdatest

import (
	"os/exec"
	"syscall"
)

// The emulator starts the bootstrap as its child: both go in a process group
// of their own, so stopping the group leaves no orphaned function behind.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	// The group id is the emulator's pid (Setpgid with Pgid 0).
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
