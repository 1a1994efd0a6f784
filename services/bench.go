package services

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/floemq/floe/bench"
	"github.com/floemq/floe/client"
)

const benchUsage = `floe bench drives a running Floe over HTTP and reports throughput, latency and cost.

Usage:
  floe bench --workload FILE [--url U] [--out DIR] [overrides]
                               run a workload file (see workloads/): live progress on stderr,
                               result.json, result.md and chart.svg in DIR
  floe bench produce [flags]   producers only
  floe bench consume [flags]   producers and consumers at once (receive + ack); --groups N
                               for N consumer groups each receiving everything
  floe bench drain [flags]     produce a backlog with no consumer, then drain it (receive
                               batches, one ack per batch); --readers for reader-only nodes
  floe bench delay [flags]     scheduled messages: how late they arrive after their time
  floe bench lite [flags]      many lite topics: creation, then receive with many subscribed
  floe bench soak [flags]      a long produce-and-consume run (30m) sampling memory, Postgres,
                               the bucket and compaction every 30 s; checks the long-run
                               targets, writes result.json, result.md and chart.svg in --out
`

func runBench(args []string, stdout, stderr io.Writer) error {
	if len(args) >= 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stdout, benchUsage)
		return flag.ErrHelp
	}
	if path := os.Getenv("FLOE_BENCH_CPU_PROFILE"); path != "" {
		stop, err := startCPUProfile(path)
		if err != nil {
			return err
		}
		defer stop()
	}
	if len(args) >= 1 && strings.HasPrefix(args[0], "-") {
		return runBenchWorkload(args, stdout, stderr)
	}
	if len(args) >= 1 && args[0] == "lite" {
		return runBenchLite(args[1:], stdout, stderr)
	}
	if len(args) >= 1 && args[0] == "delay" {
		return runBenchDelay(args[1:], stdout, stderr)
	}
	if len(args) >= 1 && args[0] == "drain" {
		return runBenchDrain(args[1:], stdout, stderr)
	}
	if len(args) >= 1 && args[0] == "soak" {
		return runBenchSoak(args[1:], stdout, stderr)
	}
	if len(args) < 1 || (args[0] != "produce" && args[0] != "consume") {
		fmt.Fprint(stderr, benchUsage)
		return errors.New("bench: say --workload FILE, produce, consume, drain, delay, lite or soak")
	}
	mode := args[0]
	fs := flag.NewFlagSet("floe bench "+mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080", "Floe endpoint")
	var p bench.ProduceConfig
	fs.StringVar(&p.Topic, "topic", "bench", "topic (created as NORMAL if missing)")
	fs.IntVar(&p.Queues, "queues", 8, "queues of the topic when created")
	fs.IntVar(&p.MessageSize, "message-size", 1024, "message body bytes")
	fs.IntVar(&p.BatchSize, "batch", 32, "messages per send request")
	fs.IntVar(&p.Producers, "producers", 64, "concurrent producers")
	fs.IntVar(&p.Rate, "rate", 0, "target messages/s (0 = as fast as possible)")
	fs.DurationVar(&p.Duration, "duration", 60*time.Second, "measured duration")
	fs.DurationVar(&p.Warmup, "warmup", 5*time.Second, "unmeasured warm-up before it")
	fs.BoolVar(&p.NoTrace, "no-trace", false, "create the topic with message tracing off")
	var c bench.ConsumeConfig
	if mode == "consume" {
		fs.StringVar(&c.Group, "group", "floe-bench", "consumer group")
		fs.IntVar(&c.Consumers, "consumers", 16, "concurrent consumers per group")
		fs.IntVar(&c.Groups, "groups", 1, "consumer groups, each receiving every message: GROUP-1 to GROUP-N when more than 1")
		fs.IntVar(&c.BatchSize, "receive-batch", 32, "messages per receive")
	}
	jsonOut := fs.String("json", "", "also write the result as JSON to this file")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cl := client.New(*url)
	var result any
	var md string
	if mode == "produce" {
		r, err := bench.RunProduce(ctx, cl, p, stderr)
		if err != nil {
			return err
		}
		result, md = r, r.Markdown()
	} else {
		c.Topic = p.Topic
		r, err := bench.RunProduceConsume(ctx, cl, p, c, stderr)
		if err != nil {
			return err
		}
		result, md = r, r.Markdown()+"\n"+r.Consume.Summary()
	}
	fmt.Fprintln(stdout, md)
	if *jsonOut != "" {
		b, err := json.MarshalIndent(result, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", *jsonOut, err)
		}
	}
	return nil
}

func runBenchDrain(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("floe bench drain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080", "Floe endpoint producing (and consuming, without --readers)")
	readers := fs.String("readers", "", "comma-separated endpoints the consumers receive from, one per consumer in turn (default: --url); /metrics of every node is summed")
	var d bench.DrainConfig
	fs.StringVar(&d.Produce.Topic, "topic", "bench-drain", "topic (created as NORMAL if missing)")
	fs.IntVar(&d.Produce.Queues, "queues", 8, "queues of the topic when created")
	fs.IntVar(&d.Produce.MessageSize, "message-size", 1024, "message body bytes (at least 16)")
	fs.IntVar(&d.Produce.MessageSize, "size", 1024, "same as --message-size")
	fs.IntVar(&d.Produce.BatchSize, "batch", 32, "messages per send request")
	fs.IntVar(&d.Produce.Producers, "producers", 160, "concurrent producers, one request in flight each")
	fs.BoolVar(&d.Produce.NoTrace, "no-trace", false, "create the topic with message tracing off")
	fs.Int64Var(&d.Messages, "messages", 2_000_000, "backlog to produce, then drain")
	fs.StringVar(&d.Group, "group", "floe-bench-drain", "consumer group")
	fs.IntVar(&d.Consumers, "consumers", 8, "concurrent consumers")
	fs.IntVar(&d.ReceiveBatch, "receive-batch", 32, "messages per receive call (each batch acked in one call)")
	fs.BoolVar(&d.AsyncAcks, "async-acks", false, "receive the next batch while the last one's ack is in flight (one ack in flight per consumer)")
	fs.DurationVar(&d.Timeout, "timeout", 30*time.Minute, "longest each phase (produce, drain) may take")
	jsonOut := fs.String("json", "", "also write the result as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench drain: unexpected argument %q", fs.Arg(0))
	}
	for _, u := range splitList(*readers) {
		d.Readers = append(d.Readers, client.New(u))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, runErr := bench.RunDrain(ctx, client.New(*url), d, stderr)
	if runErr != nil && r.Config.Messages == 0 {
		return runErr // nothing ran
	}
	fmt.Fprintln(stdout, r.Markdown())
	fmt.Fprintln(stdout, r.Summary())
	return errors.Join(runErr, writeJSON(*jsonOut, r))
}

// errTargetsMissed is the error of a soak run that missed a target: its summary line,
// printed last, says which.
var errTargetsMissed = errors.New("bench soak: a target was missed or could not be judged")

// runBenchSoak runs `floe bench soak`: the consume workload for a long time with every
// role on, sampled every --sample-interval, then checked against the long-run targets.
func runBenchSoak(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("floe bench soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080", "Floe endpoint (one node with every role)")
	out := fs.String("out", "", "folder for result.json, result.md, chart.svg and workload-chart.svg (default bench-results/soak-TIME)")
	var cfg bench.SoakConfig
	w := &cfg.Workload
	fs.StringVar(&w.Name, "name", "soak", "workload name, topic and group")
	fs.IntVar(&w.Queues, "queues", 8, "queues of the topic when created")
	fs.IntVar(&w.MessageSize, "message-size", 1024, "message body bytes")
	fs.IntVar(&w.BatchSize, "batch", 32, "messages per send request")
	fs.IntVar(&w.Producers, "producers", 160, "concurrent producers")
	fs.IntVar(&w.Consumers, "consumers", 64, "concurrent consumers")
	fs.IntVar(&w.ReceiveBatch, "receive-batch", 32, "messages per receive")
	rate := fs.Int("rate", 15000, "target messages/s")
	warmup := fs.Duration("warmup", 10*time.Second, "unmeasured warm-up")
	duration := fs.Duration("duration", 30*time.Minute, "measured duration")
	fs.DurationVar(&cfg.SampleInterval, "sample-interval", 30*time.Second, "time between samples (and progress lines)")
	databaseURL := fs.String("database-url", "", "the node's Postgres, for database and table sizes (optional)")
	watch := fs.String("watch", "", "NAME=PID,...: local processes whose CPU (with their descendants') each sample records, such as floe=123,minio=456,postgres=789; this client is watched too, as \"client\"")
	t := &cfg.Targets
	fs.DurationVar(&t.IntervalP99, "interval-p99", 350*time.Millisecond, "target: end-to-end p99 of every sample interval at most this")
	fs.DurationVar(&t.RunP99, "run-p99", 500*time.Millisecond, "target: end-to-end p99 of the whole run at most this")
	fs.Int64Var(&t.CacheBytes, "cache-bytes", 256<<20, "the node's --cache-bytes: its RSS may be this plus --rss-headroom")
	fs.Int64Var(&t.RSSHeadroom, "rss-headroom", 512<<20, "target: RSS at most --cache-bytes plus this")
	fs.DurationVar(&t.FlatWindow, "flat-window", 20*time.Minute, "target: RSS flat over this last part of the run")
	fs.DurationVar(&t.MergeAge, "merge-age", 10*time.Minute, "the node's --compactor-merge-age: compaction lag at most this plus 1m")
	fs.DurationVar(&t.ReadGrace, "read-grace", 10*time.Minute, "the node's --compactor-read-grace: storage judged from merge age + read grace + 1m on")
	fs.Float64Var(&t.Tolerance, "tolerance", 0.1, "target: a flat line rises by at most this fraction of its mean over its window")
	fs.Float64Var(&t.PgBytesPerMessage, "pg-bytes-per-message", 6, "target: Postgres grows by at most this many bytes per message produced once storage settled")
	fs.Int64Var(&t.BytesPerObject, "bytes-per-object", 16<<20, "target: the object count grows by at most one per this many bytes stored once storage settled")
	jsonOut := fs.String("json", "", "also write result.json to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench soak: unexpected argument %q", fs.Arg(0))
	}
	if *rate < 1 {
		return fmt.Errorf("bench soak: --rate must be at least 1 message/s, got %d", *rate)
	}
	if t.PgBytesPerMessage <= 0 || t.BytesPerObject <= 0 {
		return fmt.Errorf("bench soak: --pg-bytes-per-message and --bytes-per-object must be positive, got %g and %d", t.PgBytesPerMessage, t.BytesPerObject)
	}
	procs, err := bench.ParseWatchedProcesses(*watch)
	if err != nil {
		return fmt.Errorf("bench soak: --watch: %w", err)
	}
	if len(procs) > 0 && !slices.ContainsFunc(procs, func(p bench.WatchedProcess) bool { return p.Name == "client" }) {
		procs = append(procs, bench.WatchedProcess{Name: "client", PID: os.Getpid()})
	}
	cfg.Processes = procs
	w.Rate = bench.Rate{PerSecond: *rate}
	w.Warmup, w.Duration = bench.Duration(*warmup), bench.Duration(*duration)
	cfg.Command = "floe bench soak " + strings.Join(args, " ")
	if *databaseURL != "" {
		pg := &pgSampler{url: *databaseURL}
		defer pg.close()
		cfg.Postgres = pg
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("bench-results", "soak-"+time.Now().Format("20060102-150405"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stderr, "soak run %q: %d msg/s, %d producers × %d, %d consumers, warmup %s, duration %s, a sample every %s\n",
		w.Name, *rate, w.Producers, w.BatchSize, w.Consumers, *warmup, *duration, cfg.SampleInterval)
	r, runErr := bench.RunSoak(ctx, client.New(*url), cfg, stderr)
	if runErr != nil && r.Workload.Started.IsZero() {
		return runErr // nothing ran
	}
	// A run cut short still writes what it measured.
	if err := errors.Join(r.WriteFiles(dir), writeJSON(*jsonOut, r)); err != nil {
		return errors.Join(runErr, err)
	}
	fmt.Fprintf(stderr, "wrote %s\n", strings.Join([]string{filepath.Join(dir, "result.json"), filepath.Join(dir, "result.md"),
		filepath.Join(dir, "chart.svg"), filepath.Join(dir, "workload-chart.svg")}, ", "))
	fmt.Fprintln(stdout, r.Summary)
	if runErr == nil && !r.Held() {
		return errTargetsMissed
	}
	return runErr
}

// splitList splits a comma-separated flag value, dropping empty items.
// startCPUProfile writes the bench client's own CPU profile to path until stop is called
// (FLOE_BENCH_CPU_PROFILE): the client shares the machine with the servers it measures,
// so what it costs is part of every result.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("bench: cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// writeJSON writes v as indented JSON to path; an empty path writes nothing.
func writeJSON(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func runBenchDelay(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("floe bench delay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080", "Floe endpoint")
	var d bench.DelayConfig
	fs.IntVar(&d.Rate, "rate", 5000, "scheduled messages per second")
	fs.DurationVar(&d.Duration, "duration", time.Minute, "how long to send")
	fs.DurationVar(&d.Delay, "delay", 10*time.Second, "how far ahead each message is scheduled")
	fs.IntVar(&d.MessageSize, "message-size", 1024, "message body bytes")
	fs.IntVar(&d.Consumers, "consumers", 16, "concurrent consumers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := bench.RunDelay(ctx, client.New(*url), d, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, r.Markdown())
	return nil
}

func runBenchLite(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("floe bench lite", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080", "Floe endpoint")
	dbURL := fs.String("database-url", "", "Postgres to measure the size of afterwards (optional)")
	var l bench.LiteConfig
	fs.IntVar(&l.LiteTopics, "lite-topics", 1_000_000, "lite topics to create")
	fs.IntVar(&l.MessagesEach, "messages-each", 10, "messages per lite topic")
	fs.IntVar(&l.MessageSize, "message-size", 100, "message body bytes")
	fs.IntVar(&l.Subscribed, "subscribed", 10_000, "lite topics the group subscribes to")
	fs.IntVar(&l.Active, "active", 5, "subscribed lite topics that get traffic while receiving")
	fs.DurationVar(&l.ReceiveFor, "receive-for", 30*time.Second, "how long to measure receiving")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := bench.RunLite(ctx, client.New(*url), l, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, r.Markdown())
	if *dbURL != "" {
		size, err := databaseSize(ctx, *dbURL)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, size)
	}
	return nil
}

// databaseSize describes the size of the database and its largest tables.
func databaseSize(ctx context.Context, url string) (string, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", fmt.Errorf("connecting to measure size: %w", err)
	}
	defer conn.Close(ctx)
	var b strings.Builder
	var total string
	if err := conn.QueryRow(ctx, `SELECT pg_size_pretty(pg_database_size(current_database()))`).Scan(&total); err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "Postgres database size: %s\n\n| table | rows (estimate) | size with indexes |\n|---|---|---|\n", total)
	rows, err := conn.Query(ctx, `SELECT c.relname, c.reltuples::bigint, pg_size_pretty(pg_total_relation_size(c.oid))
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 6`)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var name, size string
		var n int64
		if err := rows.Scan(&name, &n, &size); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "| %s | %d | %s |\n", name, n, size)
	}
	return b.String(), rows.Err()
}

// runBenchWorkload runs `floe bench --workload FILE`: flags given on the command line
// override the file's fields.
func runBenchWorkload(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("floe bench --workload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("workload", "", "workload file (YAML), such as workloads/1-topic-16-partitions-1kb.yaml")
	url := fs.String("url", "http://127.0.0.1:8080", "Floe endpoint")
	out := fs.String("out", "", "folder for result.json, result.md and chart.svg (default bench-results/NAME-TIME)")
	interval := fs.Duration("interval", 2*time.Second, "time between progress lines and points of the time series")
	// Overrides of the file's fields; only flags given change anything.
	fs.String("name", "", "override: workload name (and default topic and group)")
	fs.String("topic", "", "override: topic")
	fs.Int("queues", 0, "override: queues of the topic when created")
	fs.Int("message-size", 0, "override: message body bytes")
	fs.Int("producers", 0, "override: producers (requests in flight at most)")
	fs.Int("batch", 0, "override: messages per send")
	fs.Int("consumers", 0, "override: consumers (0 = produce only)")
	fs.Int("receive-batch", 0, "override: messages per receive")
	fs.Int("groups", 0, "override: consumer groups, each receiving everything")
	fs.Int64("messages", 0, "override: backlog of a drain workload")
	fs.Duration("timeout", 0, "override: longest phase of a drain workload")
	fs.String("readers", "", "drain workloads: comma-separated endpoints the consumers receive from (default: --url)")
	fs.String("rate", "", "override: target msg/s, or max")
	fs.Int("max-backlog", 0, "override: at rate max, messages produced and not consumed before producers wait")
	fs.Duration("warmup", 0, "override: unmeasured warm-up")
	fs.Duration("duration", 0, "override: measured duration")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	if *file == "" {
		fmt.Fprint(stderr, benchUsage)
		return errors.New("bench: --workload FILE is required")
	}
	override, err := workloadOverrides(fs)
	if err != nil {
		return err
	}
	w, err := bench.LoadWorkload(*file, override)
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("bench-results", w.Name+"-"+time.Now().Format("20060102-150405"))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	readers := fs.Lookup("readers").Value.String()
	if w.Mode == bench.ModeDrain {
		return runDrainWorkload(ctx, w, *url, readers, dir, "floe bench "+strings.Join(args, " "), stdout, stderr)
	}
	if readers != "" {
		fmt.Fprintf(stderr, "--readers applies to drain workloads only; %s consumes through %s\n", w.Name, *url)
	}
	fmt.Fprintf(stderr, "workload %s: %s, %d queues, %d B, %d producers × %d, %d consumers, rate %s, warmup %s, duration %s\n",
		w.Name, w.TopicType, w.Queues, w.MessageSize, w.Producers, w.BatchSize, w.Consumers, w.Rate,
		time.Duration(w.Warmup), time.Duration(w.Duration))
	rep, runErr := bench.RunWorkload(ctx, client.New(*url), w, bench.RunOptions{
		Progress: stderr,
		Interval: *interval,
		Command:  "floe bench " + strings.Join(args, " "),
	})
	if runErr != nil && rep.Started.IsZero() {
		return runErr // nothing ran
	}
	// A run cut short still writes what it measured.
	if err := rep.WriteFiles(dir); err != nil {
		return errors.Join(runErr, err)
	}
	fmt.Fprintln(stdout, rep.Markdown())
	fmt.Fprintf(stderr, "wrote %s\n", strings.Join([]string{
		filepath.Join(dir, "result.json"), filepath.Join(dir, "result.md"), filepath.Join(dir, "chart.svg")}, ", "))
	return runErr
}

// runDrainWorkload runs a workload with mode: drain and writes result.json and result.md
// to dir.
func runDrainWorkload(ctx context.Context, w bench.Workload, url, readers, dir, command string, stdout, stderr io.Writer) error {
	cfg := w.DrainConfig()
	for _, u := range splitList(readers) {
		cfg.Readers = append(cfg.Readers, client.New(u))
	}
	fmt.Fprintf(stderr, "workload %s: drain of %d messages of %d B (%d producers × %d), then %d consumers × receive %d + one ack\n",
		w.Name, w.Messages, w.MessageSize, w.Producers, w.BatchSize, w.Consumers, w.ReceiveBatch)
	r, runErr := bench.RunDrain(ctx, client.New(url), cfg, stderr)
	if runErr != nil && r.Config.Messages == 0 {
		return runErr // nothing ran
	}
	md := fmt.Sprintf("# %s\n\n`%s`\n\n%s\n%s\n", w.Name, command, r.Markdown(), r.Summary())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errors.Join(runErr, fmt.Errorf("creating %s: %w", dir, err))
	}
	result := struct {
		Workload bench.Workload    `json:"workload"`
		Command  string            `json:"command"`
		Result   bench.DrainResult `json:"result"`
	}{w, command, r}
	err := errors.Join(writeJSON(filepath.Join(dir, "result.json"), result),
		os.WriteFile(filepath.Join(dir, "result.md"), []byte(md), 0o644))
	fmt.Fprint(stdout, md)
	fmt.Fprintf(stderr, "wrote %s, %s\n", filepath.Join(dir, "result.json"), filepath.Join(dir, "result.md"))
	return errors.Join(runErr, err)
}

// workloadOverrides returns a function applying the override flags that were given.
func workloadOverrides(fs *flag.FlagSet) (func(*bench.Workload), error) {
	var rate bench.Rate
	var err error
	var sets []func(*bench.Workload)
	fs.Visit(func(f *flag.Flag) {
		v := f.Value.(flag.Getter).Get()
		switch f.Name {
		case "name":
			sets = append(sets, func(w *bench.Workload) { w.Name = v.(string) })
		case "topic":
			sets = append(sets, func(w *bench.Workload) { w.Topic = v.(string) })
		case "queues":
			sets = append(sets, func(w *bench.Workload) { w.Queues = v.(int) })
		case "message-size":
			sets = append(sets, func(w *bench.Workload) { w.MessageSize = v.(int) })
		case "producers":
			sets = append(sets, func(w *bench.Workload) { w.Producers = v.(int) })
		case "batch":
			sets = append(sets, func(w *bench.Workload) { w.BatchSize = v.(int) })
		case "consumers":
			sets = append(sets, func(w *bench.Workload) { w.Consumers = v.(int) })
		case "receive-batch":
			sets = append(sets, func(w *bench.Workload) { w.ReceiveBatch = v.(int) })
		case "groups":
			sets = append(sets, func(w *bench.Workload) { w.Groups = v.(int) })
		case "messages":
			sets = append(sets, func(w *bench.Workload) { w.Messages = v.(int64) })
		case "timeout":
			sets = append(sets, func(w *bench.Workload) { w.Timeout = bench.Duration(v.(time.Duration)) })
		case "max-backlog":
			sets = append(sets, func(w *bench.Workload) { w.MaxBacklog = v.(int) })
		case "rate":
			if rate, err = bench.ParseRate(v.(string)); err == nil {
				sets = append(sets, func(w *bench.Workload) {
					w.Rate = rate
					if !rate.Max {
						w.MaxBacklog = 0 // a fixed rate keeps its schedule
					}
				})
			}
		case "warmup":
			sets = append(sets, func(w *bench.Workload) { w.Warmup = bench.Duration(v.(time.Duration)) })
		case "duration":
			sets = append(sets, func(w *bench.Workload) { w.Duration = bench.Duration(v.(time.Duration)) })
		}
	})
	if err != nil {
		return nil, fmt.Errorf("--rate: %w", err)
	}
	return func(w *bench.Workload) {
		for _, set := range sets {
			set(w)
		}
	}, nil
}
