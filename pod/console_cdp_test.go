package pod_test

// A small Chrome DevTools Protocol client for the console's browser tests.
// It drives Debian's headless Chromium over --remote-debugging-pipe (JSON
// messages ending in NUL on file descriptors 3 and 4), so the tests need no
// WebSocket library, no Node and no browser download.
// PODSERVER_CDP_DEBUG=1 prints every message Chromium sends.

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// needChromium returns the Chromium binary for a browser test, or skips
// the test when there is none (a failure with PODSERVER_BROWSER_TESTS=1)
// and with -short.
func needChromium(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	bin := chromiumPath()
	if bin == "" {
		if os.Getenv("PODSERVER_BROWSER_TESTS") == "1" {
			t.Fatal("PODSERVER_BROWSER_TESTS=1 but Chromium is not installed (apt-get install chromium, or set PODSERVER_CHROMIUM)")
		}
		t.Skip("Chromium is not installed (apt-get install chromium); PODSERVER_BROWSER_TESTS=1 makes this a failure")
	}
	return bin
}

// chromiumPath returns the Chromium binary to test with, or "".
func chromiumPath() string {
	if p := os.Getenv("PODSERVER_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

type cdpError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type cdpMsg struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *cdpError       `json:"error,omitempty"`
}

// cdpBrowser is one Chromium process.
type cdpBrowser struct {
	cmd  *exec.Cmd
	w    *os.File // Chromium reads commands here (its fd 3)
	r    *os.File // and writes replies and events here (its fd 4)
	next atomic.Int64

	mu      sync.Mutex
	waiting map[int64]chan cdpMsg
	subs    map[string][]func(cdpMsg) // by session id
	closed  bool
	readErr error
	done    chan struct{}
}

// startChromium starts a headless Chromium with a fresh profile.
func startChromium(t testing.TB, bin string) *cdpBrowser {
	t.Helper()
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	evR, evW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	profile := t.TempDir()
	cmd := exec.Command(bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
		"--no-default-browser-check", "--password-store=basic", "--use-mock-keychain",
		"--user-data-dir="+profile, "--window-size=1280,900", "--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{cmdR, evW}
	newProcessGroup(cmd)
	logFile, err := os.Create(profile + "/chromium.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	cmdR.Close()
	evW.Close()
	b := &cdpBrowser{cmd: cmd, w: cmdW, r: evR, waiting: map[int64]chan cdpMsg{}, subs: map[string][]func(cdpMsg){}, done: make(chan struct{})}
	go b.read()
	t.Cleanup(func() {
		b.close()
		logFile.Close()
		if t.Failed() {
			if log, err := os.ReadFile(profile + "/chromium.log"); err == nil && len(log) > 0 {
				t.Logf("chromium log (tail):\n%s", tail(string(log), 3000))
			}
		}
	})
	return b
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (b *cdpBrowser) read() {
	defer close(b.done)
	br := bufio.NewReaderSize(b.r, 1<<20)
	for {
		raw, err := br.ReadBytes(0)
		if err != nil {
			b.mu.Lock()
			b.readErr = err
			for id, ch := range b.waiting {
				close(ch)
				delete(b.waiting, id)
			}
			b.mu.Unlock()
			return
		}
		if os.Getenv("PODSERVER_CDP_DEBUG") != "" {
			fmt.Fprintf(os.Stderr, "<- %s\n", clipExpr(string(raw[:len(raw)-1])))
		}
		var m cdpMsg
		if err := json.Unmarshal(raw[:len(raw)-1], &m); err != nil {
			continue
		}
		b.mu.Lock()
		if m.ID != 0 {
			if ch, ok := b.waiting[m.ID]; ok {
				delete(b.waiting, m.ID)
				ch <- m
			}
			b.mu.Unlock()
			continue
		}
		subs := append([]func(cdpMsg){}, b.subs[m.SessionID]...)
		b.mu.Unlock()
		for _, f := range subs {
			f(m)
		}
	}
}

// on calls f for every event of session.
func (b *cdpBrowser) on(session string, f func(cdpMsg)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[session] = append(b.subs[session], f)
}

// call sends a command and decodes its result into out (when not nil).
func (b *cdpBrowser) call(ctx context.Context, session, method string, params, out any) error {
	id := b.next.Add(1)
	p, err := json.Marshal(params)
	if err != nil {
		return err
	}
	if params == nil {
		p = []byte("{}")
	}
	msg, err := json.Marshal(cdpMsg{ID: id, Method: method, Params: p, SessionID: session})
	if err != nil {
		return err
	}
	ch := make(chan cdpMsg, 1)
	b.mu.Lock()
	if b.readErr != nil || b.closed {
		b.mu.Unlock()
		return fmt.Errorf("%s: browser is gone (%v)", method, b.readErr)
	}
	b.waiting[id] = ch
	b.mu.Unlock()
	if _, err := b.w.Write(append(msg, 0)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return fmt.Errorf("%s: browser closed the connection", method)
		}
		if m.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if out != nil {
			return json.Unmarshal(m.Result, out)
		}
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		delete(b.waiting, id)
		b.mu.Unlock()
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// close asks Chromium to exit, and kills its process group if it does not.
func (b *cdpBrowser) close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	_ = b.call(ctx, "", "Browser.close", nil, nil)
	cancel()
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	exited := make(chan struct{})
	go func() {
		_ = b.cmd.Wait()
		close(exited)
	}()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		killProcessGroup(b.cmd)
		<-exited
	}
	b.w.Close()
	<-b.done
	b.r.Close()
}

// cdpPage is one tab, attached with its own session.
type cdpPage struct {
	t       testing.TB
	b       *cdpBrowser
	session string
	timeout time.Duration

	mu       sync.Mutex
	dialogs  []string // JavaScript dialogs that opened (none should)
	problems []string // exceptions, CSP violations, console errors
}

// newPage opens a tab and records dialogs, exceptions and security errors.
func (b *cdpBrowser) newPage(t testing.TB) *cdpPage {
	t.Helper()
	// The first start of a fresh profile can be slow (font caches).
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var tgt struct{ TargetID string }
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &tgt); err != nil {
		t.Fatal(err)
	}
	var att struct{ SessionID string }
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": tgt.TargetID, "flatten": true}, &att); err != nil {
		t.Fatal(err)
	}
	p := &cdpPage{t: t, b: b, session: att.SessionID, timeout: 20 * time.Second}
	b.on(p.session, p.event)
	for _, m := range []string{"Page.enable", "Runtime.enable", "Log.enable"} {
		if err := b.call(ctx, p.session, m, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func (p *cdpPage) event(m cdpMsg) {
	switch m.Method {
	case "Page.javascriptDialogOpening":
		var d struct{ Message, Type string }
		_ = json.Unmarshal(m.Params, &d)
		p.mu.Lock()
		p.dialogs = append(p.dialogs, d.Type+": "+d.Message)
		p.mu.Unlock()
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = p.b.call(ctx, p.session, "Page.handleJavaScriptDialog", map[string]any{"accept": false}, nil)
		}()
	case "Runtime.exceptionThrown":
		var e struct {
			ExceptionDetails struct {
				Text      string
				Exception struct{ Description string }
			}
		}
		_ = json.Unmarshal(m.Params, &e)
		p.problem("exception: " + e.ExceptionDetails.Text + " " + e.ExceptionDetails.Exception.Description)
	case "Log.entryAdded":
		var e struct {
			Entry struct{ Source, Level, Text, URL string }
		}
		_ = json.Unmarshal(m.Params, &e)
		// Failed requests (the console expects some 404s) are "network"
		// entries; CSP violations are "security" ones.
		if e.Entry.Level == "error" && e.Entry.Source != "network" {
			p.problem(e.Entry.Source + ": " + e.Entry.Text)
		}
	case "Runtime.consoleAPICalled":
		var e struct {
			Type string
			Args []struct {
				Value       any
				Description string
			}
		}
		_ = json.Unmarshal(m.Params, &e)
		if e.Type == "error" || e.Type == "assert" {
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, fmt.Sprint(a.Value, a.Description))
			}
			p.problem("console." + e.Type + ": " + strings.Join(parts, " "))
		}
	}
}

func (p *cdpPage) problem(s string) {
	p.mu.Lock()
	p.problems = append(p.problems, s)
	p.mu.Unlock()
}

// takeProblems returns and forgets what went wrong in the page so far.
func (p *cdpPage) takeProblems() (dialogs, problems []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	dialogs, problems = p.dialogs, p.problems
	p.dialogs, p.problems = nil, nil
	return dialogs, problems
}

// dropProblems forgets the problems recorded so far that contain text.
func (p *cdpPage) dropProblems(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	kept := p.problems[:0]
	for _, pr := range p.problems {
		if !strings.Contains(pr, text) {
			kept = append(kept, pr)
		}
	}
	p.problems = kept
}

func (p *cdpPage) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), p.timeout)
}

func (p *cdpPage) call(method string, params, out any) {
	p.t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	if err := p.b.call(ctx, p.session, method, params, out); err != nil {
		p.t.Fatal(err)
	}
}

// evalErr evaluates a JavaScript expression (awaiting a promise) and
// returns its JSON value.
func (p *cdpPage) evalErr(expr string) (json.RawMessage, error) {
	ctx, cancel := p.ctx()
	defer cancel()
	var r struct {
		Result struct {
			Value json.RawMessage
		}
		ExceptionDetails *struct {
			Text      string
			Exception struct{ Description string }
		}
	}
	err := p.b.call(ctx, p.session, "Runtime.evaluate", map[string]any{
		"expression": expr, "awaitPromise": true, "returnByValue": true,
	}, &r)
	if err != nil {
		return nil, err
	}
	if r.ExceptionDetails != nil {
		return nil, errors.New(r.ExceptionDetails.Text + " " + r.ExceptionDetails.Exception.Description)
	}
	return r.Result.Value, nil
}

// eval evaluates expr and decodes its value into out (when not nil).
func (p *cdpPage) eval(expr string, out any) {
	p.t.Helper()
	v, err := p.evalErr(expr)
	if err != nil {
		p.t.Fatalf("eval %s: %v", clipExpr(expr), err)
	}
	if out != nil {
		if err := json.Unmarshal(v, out); err != nil {
			p.t.Fatalf("eval %s: decode %s: %v", clipExpr(expr), v, err)
		}
	}
}

func clipExpr(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// finder is JavaScript that defines find(sel, text): the first visible
// element matching sel whose text contains text. sel "label=Text" finds
// the control of the label starting with Text (so tests find inputs the
// way people do: by their labels).
const finder = `const find = (sel, text) => {
  let els;
  if (sel.startsWith("label=")) {
    const want = sel.slice(6);
    els = [...document.querySelectorAll("label")].filter((l) => l.textContent.trim().startsWith(want)).map((l) => l.control).filter(Boolean);
  } else {
    els = [...document.querySelectorAll(sel)];
  }
  if (text) els = els.filter((e) => e.textContent.includes(text));
  return els.find((e) => e.getClientRects().length > 0) || null;
};`

func jsArgs(args ...any) string {
	var parts []string
	for _, a := range args {
		b, _ := json.Marshal(a)
		parts = append(parts, string(b))
	}
	return strings.Join(parts, ", ")
}

// waitFor polls the JavaScript expression until it is truthy.
func (p *cdpPage) waitFor(what, expr string) {
	p.t.Helper()
	deadline := time.Now().Add(p.timeout)
	var last string
	for time.Now().Before(deadline) {
		v, err := p.evalErr("(() => { " + finder + " return Boolean(" + expr + "); })()")
		if err == nil && string(v) == "true" {
			return
		}
		if err != nil {
			last = err.Error()
		}
		time.Sleep(40 * time.Millisecond)
	}
	var text string
	_ = json.Unmarshal(mustEval(p, `document.querySelector("main") ? document.querySelector("main").innerText : document.body.innerText`), &text)
	p.t.Fatalf("timed out waiting for %s (%s); the page shows:\n%s", what, last, tail(text, 2000))
}

func mustEval(p *cdpPage, expr string) json.RawMessage {
	v, _ := p.evalErr(expr)
	return v
}

// waitText waits for an element matching sel that contains text.
func (p *cdpPage) waitText(sel, text string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("%s containing %q", sel, text), "find("+jsArgs(sel, text)+")")
}

// click clicks, with the mouse, the centre of the first visible element
// matching sel (and containing text), after checking it is enabled and
// nothing covers it.
func (p *cdpPage) click(sel, text string) {
	p.t.Helper()
	var pt struct {
		X, Y float64
		Err  string
	}
	deadline := time.Now().Add(p.timeout)
	for {
		p.eval(`(() => { `+finder+`
  const el = find(`+jsArgs(sel, text)+`);
  if (!el) return {err: "no such element"};
  if (el.disabled) return {err: "disabled"};
  el.scrollIntoView({block: "center", inline: "center"});
  const r = el.getBoundingClientRect();
  const x = r.left + r.width / 2, y = r.top + r.height / 2;
  const at = document.elementFromPoint(x, y);
  if (!at || (at !== el && !el.contains(at))) return {err: "covered by " + (at ? at.outerHTML.slice(0, 80) : "nothing")};
  return {x, y};
})()`, &pt)
		if pt.Err == "" {
			break
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("click %s %q: %s", sel, text, pt.Err)
		}
		time.Sleep(40 * time.Millisecond)
	}
	for _, typ := range []string{"mouseMoved", "mousePressed", "mouseReleased"} {
		p.call("Input.dispatchMouseEvent", map[string]any{"type": typ, "x": pt.X, "y": pt.Y, "button": "left", "clickCount": 1}, nil)
	}
}

// fill replaces the value of the control matching sel with text, typed as
// keyboard input (so input events fire as they do for a person).
func (p *cdpPage) fill(sel, text string) {
	p.t.Helper()
	p.waitFor("control "+sel, "find("+jsArgs(sel, "")+")")
	p.eval(`(() => { `+finder+`
  const el = find(`+jsArgs(sel, "")+`);
  el.focus();
  el.select();
  return true;
})()`, nil)
	if text == "" {
		p.call("Input.dispatchKeyEvent", map[string]any{"type": "keyDown", "key": "Delete", "code": "Delete", "windowsVirtualKeyCode": 46}, nil)
		p.call("Input.dispatchKeyEvent", map[string]any{"type": "keyUp", "key": "Delete", "code": "Delete", "windowsVirtualKeyCode": 46}, nil)
		return
	}
	p.call("Input.insertText", map[string]any{"text": text}, nil)
}

// press sends one key (e.g. "Tab", "Enter") to the focused element.
func (p *cdpPage) press(key string) {
	p.t.Helper()
	codes := map[string]int{"Tab": 9, "Enter": 13, "Escape": 27, " ": 32}
	params := map[string]any{"key": key, "code": key, "windowsVirtualKeyCode": codes[key]}
	if key == "Enter" {
		params["text"] = "\r"
	}
	for _, typ := range []string{"keyDown", "keyUp"} {
		params["type"] = typ
		if typ == "keyUp" {
			delete(params, "text")
		}
		p.call("Input.dispatchKeyEvent", params, nil)
	}
}

// navigate loads url and waits for its load event.
func (p *cdpPage) navigate(url string) {
	p.t.Helper()
	var r struct{ ErrorText string }
	p.call("Page.navigate", map[string]any{"url": url}, &r)
	if r.ErrorText != "" {
		p.t.Fatalf("navigate %s: %s", url, r.ErrorText)
	}
	p.waitFor("the page to load", `document.readyState === "complete"`)
}

// viewport sets the page's size (and phone-like touch for narrow ones).
func (p *cdpPage) viewport(width, height int, mobile bool) {
	p.t.Helper()
	p.call("Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile,
	}, nil)
}

// screenshot returns a PNG of the viewport (or of the whole page).
func (p *cdpPage) screenshot(full bool) []byte {
	p.t.Helper()
	var r struct{ Data string }
	p.call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": full}, &r)
	b, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		p.t.Fatal(err)
	}
	return b
}
