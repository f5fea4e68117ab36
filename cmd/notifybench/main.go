// Command notifybench measures Solid Notifications on one server: memory
// per idle WebSocket subscriber, and notification latency from an inbox
// arrival to its receipt by every subscriber (p50, p99).
//
//	go run ./cmd/notifybench -steps 1000,10000 -rounds 20
//
// It starts a podserver (on-disk store in a temporary directory, demo pods)
// in this process and runs the subscribers (bench.RunNotifyLoad) in a child
// process, so that each side has its own file descriptor limit and the
// server's memory is measured alone: at each step the child reports that
// its subscribers are connected and idle, and the server side reads
// runtime.MemStats after two garbage collections. With -server URL it runs
// the subscribers only, against a running server.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"podserver/bench"
	"podserver/pod"
)

const aliceKey = "pk_demo_alice_owner_0123456789"

func main() {
	steps := flag.String("steps", "1000,10000", "subscriber counts to reach in turn")
	rounds := flag.Int("rounds", 20, "timed inbox arrivals at each step")
	conc := flag.Int("concurrency", 32, "parallel subscriptions while connecting")
	server := flag.String("server", "", "run the subscribers only, against this server's base URL")
	key := flag.String("key", aliceKey, "API key (with -server)")
	podName := flag.String("pod", "alice", "pod whose inbox is watched")
	client := flag.Bool("client", false, "internal: run as the subscriber process")
	cpuProfile := flag.String("cpuprofile", "", "write the server's CPU profile during the timed rounds to this file")
	memProfile := flag.String("memprofile", "", "write the server's heap profile with the idle subscribers of each step to this file")
	flag.Parse()
	gin.SetMode(gin.ReleaseMode)

	bench.RaiseFileLimit()
	var err error
	switch {
	case *client:
		if *cpuProfile != "" {
			f, err := os.Create(*cpuProfile + ".client")
			if err == nil {
				_ = pprof.StartCPUProfile(f)
				defer pprof.StopCPUProfile()
			}
		}
		err = runClient(*server, *key, *podName, *steps, *rounds, *conc, true)
	case *server != "":
		err = runClient(*server, *key, *podName, *steps, *rounds, *conc, false)
	default:
		err = runBench(*steps, *rounds, *conc, *cpuProfile, *memProfile)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "notifybench:", err)
		os.Exit(1)
	}
}

func parseSteps(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad -steps %q", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// runClient runs the subscribers. As the child of runBench (child true) it
// prints "IDLE n" at each step and waits for a line on stdin before the
// timed rounds, and "STEP <json>" after them.
func runClient(base, key, podName, steps string, rounds, conc int, child bool) error {
	st, err := parseSteps(steps)
	if err != nil {
		return err
	}
	in := bufio.NewScanner(os.Stdin)
	o := bench.NotifyLoadOptions{
		Inbox: strings.TrimSuffix(base, "/") + "/" + podName + "/inbox/", Key: key,
		Steps: st, Rounds: rounds, Concurrency: conc,
		Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, "client: "+f+"\n", a...) },
	}
	if child {
		o.Done = func(s bench.NotifyLoadStep) {
			b, _ := json.Marshal(s)
			fmt.Printf("STEP %s\n", b)
		}
		o.Idle = func(ctx context.Context, n int) error {
			fmt.Printf("IDLE %d\n", n)
			if !in.Scan() {
				return fmt.Errorf("parent went away")
			}
			return nil
		}
	}
	res, err := bench.RunNotifyLoad(context.Background(), o)
	if err != nil || child {
		return err
	}
	for _, s := range res {
		printStep(s, nil)
	}
	return nil
}

// memSample is the server's memory with n idle subscribers.
type memSample struct {
	heap, stack uint64
	goroutines  int
}

func sample() memSample {
	runtime.GC()
	debug.FreeOSMemory()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memSample{heap: m.HeapInuse, stack: m.StackInuse, goroutines: runtime.NumGoroutine()}
}

// runBench starts a server here and the subscribers in a child process.
func runBench(steps string, rounds, conc int, cpuProfile, memProfile string) error {
	dir, err := os.MkdirTemp("", "notifybench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s, err := pod.New(pod.Options{Addr: "127.0.0.1:0", DataDir: dir, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	}()
	if _, err := s.ProvisionDemo(context.Background()); err != nil {
		return err
	}
	base := sample()
	fmt.Printf("server %s: baseline heap %.1f MiB, stacks %.1f MiB, %d goroutines; GOMAXPROCS %d\n",
		s.BaseURL(), mib(base.heap), mib(base.stack), base.goroutines, runtime.GOMAXPROCS(0))

	exe, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"-client", "-server", s.BaseURL(), "-steps", steps, "-rounds", strconv.Itoa(rounds), "-concurrency", strconv.Itoa(conc)}
	if cpuProfile != "" {
		args = append(args, "-cpuprofile", cpuProfile)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	mem := map[int]memSample{}
	cpu := map[int]time.Duration{} // server CPU time of each step's rounds
	var cpuAtGo time.Duration
	var result []bench.NotifyLoadStep
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "IDLE "):
			n, _ := strconv.Atoi(strings.TrimPrefix(line, "IDLE "))
			time.Sleep(2 * time.Second) // let handshakes and their garbage settle
			m := sample()
			mem[n] = m
			if memProfile != "" {
				if f, err := os.Create(fmt.Sprintf("%s.%d", memProfile, n)); err == nil {
					_ = pprof.Lookup("heap").WriteTo(f, 0)
					f.Close()
				}
			}
			per := float64(int64(m.heap+m.stack)-int64(base.heap+base.stack)) / float64(n)
			fmt.Printf("%6d idle subscribers: heap %.1f MiB, stacks %.1f MiB, %d goroutines: %.1f KiB and %.2f goroutines per subscriber\n",
				n, mib(m.heap), mib(m.stack), m.goroutines, per/1024, float64(m.goroutines-base.goroutines)/float64(n))
			if cpuProfile != "" {
				f, err := os.Create(fmt.Sprintf("%s.%d", cpuProfile, n))
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
			}
			cpuAtGo = bench.CPUTime()
			if _, err := io.WriteString(stdin, "GO\n"); err != nil {
				return err
			}
		case strings.HasPrefix(line, "STEP "):
			var st bench.NotifyLoadStep
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "STEP ")), &st); err != nil {
				return err
			}
			cpu[st.Subscribers] = bench.CPUTime() - cpuAtGo
			if cpuProfile != "" {
				pprof.StopCPUProfile()
			}
			result = append(result, st)
		default:
			fmt.Println(line)
		}
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("subscriber process: %w", err)
	}
	fmt.Println()
	for _, st := range result {
		m := mem[st.Subscribers]
		printStep(st, &memInfo{
			per:       float64(int64(m.heap+m.stack)-int64(base.heap+base.stack)) / float64(st.Subscribers),
			serverCPU: cpu[st.Subscribers] / time.Duration(max(st.Rounds, 1)),
		})
	}
	return nil
}

type memInfo struct {
	per       float64
	serverCPU time.Duration
}

func printStep(s bench.NotifyLoadStep, m *memInfo) {
	fmt.Printf("%6d subscribers (connected in %v): latency from inbox POST to receipt p50 %v, p90 %v, p99 %v, max %v over %d notifications, %d missing",
		s.Subscribers, s.Connect.Round(time.Millisecond), s.P50.Round(10*time.Microsecond), s.P90.Round(10*time.Microsecond),
		s.P99.Round(10*time.Microsecond), s.Max.Round(10*time.Microsecond), s.Received, s.Missing)
	fmt.Printf("; subscriber CPU %v per round", s.ClientCPU.Round(100*time.Microsecond))
	if m != nil {
		fmt.Printf("; server CPU %v per round; server memory %.1f KiB per idle subscriber", m.serverCPU.Round(100*time.Microsecond), m.per/1024)
	}
	fmt.Println()
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
