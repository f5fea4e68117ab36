package store

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestSlogAdapter(t *testing.T) {
	var buf bytes.Buffer
	a := slogAdapter{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	a.Errorf("disk %s\n", "failed")
	a.Warningf("slow %d", 3)
	a.Infof("replaying %d", 1)
	a.Debugf("detail")
	got := buf.String()
	for _, want := range []string{`level=ERROR msg="disk failed" component=badger`, `level=WARN msg="slow 3"`} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "replaying") || strings.Contains(got, "detail") {
		t.Errorf("info or debug message logged:\n%s", got)
	}
}
