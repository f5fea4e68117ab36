package main

import (
	"errors"
	"io"
)

// cmdBench runs the load tool.
func cmdBench(args []string, stdout, stderr io.Writer) error {
	return errors.New("bench: not built yet")
}
