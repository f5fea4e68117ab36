//go:build !unix

package pod_test

import "os/exec"

// newProcessGroup does nothing: process groups are a Unix notion.
func newProcessGroup(*exec.Cmd) {}

// killProcessGroup kills the browser process alone.
func killProcessGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
