package pod_test

import (
	"runtime"
	"testing"
)

// fromGoroutine wraps t for the helpers (do, readInbox, signedPost, ...) a
// test calls from a goroutine of its own. t.FailNow, and so t.Fatal, must
// run on the test's goroutine only; through this wrapper a helper's Fatal
// reports the failure with t.Error, which any goroutine may call, and ends
// the calling goroutine alone (runtime.Goexit runs its deferred calls, such
// as a WaitGroup's Done). The test goroutine then sees the test failed.
func fromGoroutine(t testing.TB) testing.TB { return goroutineTB{t} }

type goroutineTB struct{ testing.TB }

func (g goroutineTB) Fatal(args ...any) {
	g.TB.Helper()
	g.TB.Error(args...)
	runtime.Goexit()
}

func (g goroutineTB) Fatalf(format string, args ...any) {
	g.TB.Helper()
	g.TB.Errorf(format, args...)
	runtime.Goexit()
}

func (g goroutineTB) FailNow() {
	g.TB.Fail()
	runtime.Goexit()
}

func (g goroutineTB) Skip(args ...any) {
	g.TB.Helper()
	g.TB.Error(append([]any{"Skip called from a goroutine:"}, args...)...)
	runtime.Goexit()
}

func (g goroutineTB) Skipf(format string, args ...any) {
	g.TB.Helper()
	g.TB.Errorf("Skipf called from a goroutine: "+format, args...)
	runtime.Goexit()
}

func (g goroutineTB) SkipNow() {
	g.TB.Error("SkipNow called from a goroutine")
	runtime.Goexit()
}
