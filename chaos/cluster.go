package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/floemq/floe/client"
	"github.com/floemq/floe/internal/miniobin"
	"github.com/floemq/floe/pglocal"
)

// MinIOBinary returns the MinIO server binary a cluster runs (see package miniobin).
func MinIOBinary() string { return miniobin.Path() }

// ClusterConfig says where a cluster runs and how its floe processes are set up.
type ClusterConfig struct {
	// Dir holds Postgres's and MinIO's data and every process's log.
	Dir string
	// FloeBin and MinIOBin are the binaries to run.
	FloeBin, MinIOBin string
	// Log receives one line per lifecycle event; nil discards them.
	Log io.Writer
	// StableNodeIDs starts every floe process with FLOE_NODE_ID set to its name, the same
	// after each restart, as a deployment with fixed node names would. Off by default: see
	// docs/chaos.md ("Known bugs") for what it finds.
	StableNodeIDs bool
}

// Cluster is a small Floe deployment of separate processes on loopback: 2 ingest, 2 reader
// and 1 compactor floe processes, one Postgres and one MinIO, with a proxy between each
// floe process and each of Postgres and MinIO for partitions.
type Cluster struct {
	cfg    ClusterConfig
	procs  []*floeProc
	byName map[string]*floeProc

	pgMu   sync.Mutex
	pgCfg  pglocal.Config
	pg     *pglocal.Server
	minio  *minioProc
	s3User string
	s3Pass string
}

// bucket is the cluster's one bucket.
const bucket = "floe-chaos"

// StartCluster starts Postgres, MinIO and the floe processes and waits until each floe
// process is ready.
func StartCluster(ctx context.Context, cfg ClusterConfig) (*Cluster, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	c := &Cluster{cfg: cfg, byName: map[string]*floeProc{}, s3User: "floe-chaos", s3Pass: "chaos-" + strconv.FormatInt(time.Now().UnixNano(), 36)}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	port, err := pglocal.FreePort()
	if err != nil {
		return nil, err
	}
	c.pgCfg = pglocal.Config{
		Dir: filepath.Join(cfg.Dir, "pg"), Port: port, Database: "floe",
		// fsync off: a killed process loses nothing the OS has; only a machine crash would.
		Settings: map[string]string{"fsync": "off", "max_connections": "200"},
		LogFile:  filepath.Join(cfg.Dir, "postgres.log"),
		Logger:   discardLogger(),
	}
	if c.pg, err = startPostgres(ctx, c.pgCfg); err != nil {
		return nil, fmt.Errorf("starting Postgres: %w", err)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	console, err := freeAddr()
	if err != nil {
		return nil, err
	}
	c.minio = &minioProc{bin: cfg.MinIOBin, dir: filepath.Join(cfg.Dir, "minio"), addr: addr, console: console, user: c.s3User, pass: c.s3Pass}
	if err := c.minio.start(); err != nil {
		return nil, fmt.Errorf("starting MinIO: %w", err)
	}
	for _, spec := range []struct{ name, roles string }{
		{"ingest-1", "ingest"}, {"ingest-2", "ingest"}, {"reader-1", "reader"}, {"reader-2", "reader"}, {"compactor", "compactor"},
	} {
		p, err := c.newProc(spec.name, spec.roles)
		if err != nil {
			return nil, err
		}
		c.procs = append(c.procs, p)
		c.byName[p.name] = p
	}
	// The first process applies the migrations and creates the bucket; then the rest.
	first := c.procs[0]
	first.up()
	if err := first.waitReady(ctx, 90*time.Second); err != nil {
		return nil, err
	}
	for _, p := range c.procs[1:] {
		p.up()
	}
	if err := c.WaitReady(ctx, 90*time.Second); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

// ProcNames lists the floe processes.
func (c *Cluster) ProcNames() []string {
	var out []string
	for _, p := range c.procs {
		out = append(out, p.name)
	}
	return out
}

// URLs returns the base URLs of the floe processes that run role.
func (c *Cluster) URLs(role string) []string {
	var out []string
	for _, p := range c.procs {
		if strings.Contains(p.roles, role) {
			out = append(out, p.url())
		}
	}
	return out
}

// DatabaseURL is a direct connection string to the cluster's database (no proxy).
func (c *Cluster) DatabaseURL() string {
	c.pgMu.Lock()
	defer c.pgMu.Unlock()
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/floe?sslmode=disable", c.pgCfg.Port)
}

// UnexpectedExits counts floe process exits the harness did not cause (a crash, or a
// start that failed because Postgres or MinIO was down), per process.
func (c *Cluster) UnexpectedExits() map[string]int {
	out := map[string]int{}
	for _, p := range c.procs {
		p.mu.Lock()
		if p.unexpected > 0 {
			out[p.name] = p.unexpected
		}
		p.mu.Unlock()
	}
	return out
}

// LogPaths lists every process's log.
func (c *Cluster) LogPaths() []string {
	out := []string{c.pgCfg.LogFile, filepath.Join(c.minio.dir, "minio.log")}
	for _, p := range c.procs {
		out = append(out, p.logPath)
	}
	return out
}

// Apply applies one fault.
func (c *Cluster) Apply(f Fault) error {
	switch f.Kind {
	case FaultPostgres:
		return c.stopPostgres()
	case FaultMinIO:
		c.minio.stop()
		return nil
	}
	p := c.byName[f.Target]
	if p == nil {
		return fmt.Errorf("no floe process %q", f.Target)
	}
	switch f.Kind {
	case FaultKill:
		p.kill()
	case FaultPause:
		return p.signal(syscall.SIGSTOP)
	case FaultPartitionPG:
		p.pgProxy.block()
	case FaultPartitionS3:
		p.s3Proxy.block()
	default:
		return fmt.Errorf("unknown fault kind %q", f.Kind)
	}
	return nil
}

// Heal undoes one fault.
func (c *Cluster) Heal(f Fault) error {
	switch f.Kind {
	case FaultPostgres:
		return c.startPostgres()
	case FaultMinIO:
		return c.minio.start()
	}
	p := c.byName[f.Target]
	if p == nil {
		return fmt.Errorf("no floe process %q", f.Target)
	}
	switch f.Kind {
	case FaultKill:
		p.up()
	case FaultPause:
		return p.signal(syscall.SIGCONT)
	case FaultPartitionPG:
		p.pgProxy.unblock()
	case FaultPartitionS3:
		p.s3Proxy.unblock()
	}
	return nil
}

// HealAll undoes every fault that may be in force and waits until every floe process is
// ready: the final heal.
func (c *Cluster) HealAll(ctx context.Context) error {
	var errs []error
	if err := c.startPostgres(); err != nil {
		errs = append(errs, err)
	}
	if err := c.minio.start(); err != nil {
		errs = append(errs, err)
	}
	for _, p := range c.procs {
		p.pgProxy.unblock()
		p.s3Proxy.unblock()
		_ = p.signal(syscall.SIGCONT)
		p.up()
	}
	if err := c.WaitReady(ctx, 90*time.Second); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// WaitReady waits until every floe process answers /readyz.
func (c *Cluster) WaitReady(ctx context.Context, timeout time.Duration) error {
	var errs []error
	for _, p := range c.procs {
		if err := p.waitReady(ctx, timeout); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RestartReaders kills and starts the reader processes (an empty chunk cache).
func (c *Cluster) RestartReaders(ctx context.Context) error {
	for _, p := range c.procs {
		if p.roles == "reader" {
			p.kill()
			p.up()
		}
	}
	return c.WaitReady(ctx, 90*time.Second)
}

// Close stops everything. The data directory is left for the caller.
func (c *Cluster) Close() {
	for _, p := range c.procs {
		p.down()
		p.pgProxy.close()
		p.s3Proxy.close()
	}
	if c.minio != nil {
		c.minio.stop()
	}
	c.pgMu.Lock()
	if c.pg != nil {
		_ = c.pg.Stop()
		c.pg = nil
	}
	c.pgMu.Unlock()
}

// stopPostgres stops Postgres in immediate mode: SIGQUIT to the postmaster, which quits its
// backends without a checkpoint, as `pg_ctl stop -m immediate` does; anything left of its
// process group is killed.
func (c *Cluster) stopPostgres() error {
	c.pgMu.Lock()
	defer c.pgMu.Unlock()
	if c.pg == nil {
		return nil
	}
	pid := 0
	if b, err := os.ReadFile(filepath.Join(c.pgCfg.Dir, "postmaster.pid")); err == nil {
		pid, _ = strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	}
	if pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGQUIT)
	}
	select {
	case <-c.pg.Done():
	case <-time.After(15 * time.Second):
		c.pg.Kill()
	}
	if pid > 0 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	c.pg = nil
	fmt.Fprintf(c.cfg.Log, "%s postgres stopped (immediate)\n", stamp())
	return nil
}

// startPostgres starts Postgres again on the same data folder and port, if it is down.
func (c *Cluster) startPostgres() error {
	c.pgMu.Lock()
	defer c.pgMu.Unlock()
	if c.pg != nil {
		select {
		case <-c.pg.Done():
		default:
			return nil
		}
	}
	var err error
	for range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		c.pg, err = startPostgres(ctx, c.pgCfg)
		cancel()
		if err == nil {
			fmt.Fprintf(c.cfg.Log, "%s postgres started\n", stamp())
			return nil
		}
		time.Sleep(time.Second)
	}
	return fmt.Errorf("restarting Postgres: %w", err)
}

func (c *Cluster) newProc(name, roles string) (*floeProc, error) {
	pgProxy, err := newProxy(fmt.Sprintf("127.0.0.1:%d", c.pgCfg.Port))
	if err != nil {
		return nil, err
	}
	s3Proxy, err := newProxy(c.minio.addr)
	if err != nil {
		pgProxy.close()
		return nil, err
	}
	port, err := pglocal.FreePort()
	if err != nil {
		return nil, err
	}
	env := []string{
		"FLOE_ROLES=" + roles,
		fmt.Sprintf("FLOE_LISTEN=127.0.0.1:%d", port), "FLOE_GRPC_LISTEN=127.0.0.1:0",
		"FLOE_DATABASE_URL=postgres://postgres@" + pgProxy.addr() + "/floe?sslmode=disable",
		"FLOE_MIGRATE=true",
		"FLOE_OBJECT_STORE=s3",
		"FLOE_S3_BUCKET=" + bucket,
		"FLOE_S3_ENDPOINT=http://" + s3Proxy.addr(),
		"FLOE_S3_REGION=us-east-1",
		"FLOE_S3_PATH_STYLE=true",
		"FLOE_S3_ACCESS_KEY_ID=" + c.s3User,
		"FLOE_S3_SECRET_ACCESS_KEY=" + c.s3Pass,
		"FLOE_S3_CREATE_BUCKET=true",
		"FLOE_LINGER=20ms",
		"FLOE_MAX_BUFFERED_BYTES=67108864",
		"FLOE_CACHE_BYTES=33554432",
		"FLOE_MIN_INVISIBLE=1s",
		"FLOE_RECEIPT_SECRET=floe-chaos-receipt-secret-0123456789",
		"FLOE_TRANSACTION_FIRST_CHECK=2s",
		"FLOE_TRANSACTION_CHECK_INTERVAL=2s",
		"FLOE_TRANSACTION_MAX_CHECKS=100",
		"FLOE_LOG_FORMAT=text",
		"FLOE_LOG_LEVEL=warn",
		// The harness checks data, not access control (docs/security.md).
		"FLOE_REQUIRE_AUTH=false",
		// Compaction within seconds rather than minutes, so merges, index swaps and
		// garbage collection all happen under the faults of a short run.
		"FLOE_COMPACTOR_INTERVAL=2s",
		"FLOE_COMPACTOR_TARGET_CHUNK_BYTES=65536",
		"FLOE_COMPACTOR_MERGE_AGE=10s",
		"FLOE_COMPACTOR_READ_GRACE=20s",
		"FLOE_COMPACTOR_ORPHAN_GRACE=60s",
		"FLOE_COMPACTOR_ORPHAN_SCAN_INTERVAL=15s",
		"FLOE_COMPACTOR_LEASE_TTL=30s",
	}
	if c.cfg.StableNodeIDs {
		env = append(env, "FLOE_NODE_ID="+name)
	}
	return &floeProc{
		name: name, roles: roles, port: port, env: env, bin: c.cfg.FloeBin, log: c.cfg.Log,
		logPath: filepath.Join(c.cfg.Dir, name+".log"), pgProxy: pgProxy, s3Proxy: s3Proxy,
	}, nil
}

// floeProc is one supervised floe process: while wanted, an exit the harness did not cause
// is followed by a start a second later, as a service manager would do.
type floeProc struct {
	name, roles string
	port        int
	env         []string
	bin         string
	log         io.Writer
	logPath     string
	pgProxy     *proxy
	s3Proxy     *proxy

	mu         sync.Mutex
	cmd        *exec.Cmd
	exited     chan struct{}
	want       bool
	starts     int
	unexpected int
}

func (p *floeProc) url() string { return fmt.Sprintf("http://127.0.0.1:%d", p.port) }

// up makes the process wanted and starts it if it is not running.
func (p *floeProc) up() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.want = true
	if p.running() {
		return
	}
	p.startLocked()
}

func (p *floeProc) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *floeProc) startLocked() {
	cmd := exec.Command(p.bin, "serve")
	cmd.Env = append(environWithout("FLOE_"), p.env...)
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintf(p.log, "%s %s: opening log: %v\n", stamp(), p.name, err)
		return
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== %s start %d\n", stamp(), p.starts+1)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	exited, err := startChild(cmd)
	if err != nil {
		fmt.Fprintf(p.log, "%s %s: starting: %v\n", stamp(), p.name, err)
		return
	}
	p.starts++
	p.cmd, p.exited = cmd, exited
	go func() {
		<-exited
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.cmd != cmd || !p.want {
			return
		}
		p.unexpected++
		fmt.Fprintf(p.log, "%s %s exited by itself (%v); restarting in 1s\n", stamp(), p.name, cmd.ProcessState)
		time.AfterFunc(time.Second, func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.want && p.cmd == cmd {
				p.startLocked()
			}
		})
	}()
}

// kill sends SIGKILL and waits for the exit; the process stays down until up.
func (p *floeProc) kill() {
	p.mu.Lock()
	p.want = false
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// down stops the process for good.
func (p *floeProc) down() { p.kill() }

func (p *floeProc) signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running() {
		return nil // not running: nothing to pause or resume
	}
	return p.cmd.Process.Signal(sig)
}

func (p *floeProc) waitReady(ctx context.Context, timeout time.Duration) error {
	c := client.New(p.url())
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := c.Readyz(rctx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("floe %s (%s) not ready after %s; log %s ends:\n%s", p.name, p.url(), timeout, p.logPath, logTail(p.logPath, 20))
}

// minioProc is the cluster's MinIO: stopped by SIGKILL and started again on the same data
// folder and address, so objects survive.
type minioProc struct {
	bin, dir, addr, console, user, pass string

	mu     sync.Mutex
	pid    int
	exited chan struct{}
}

func (m *minioProc) start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.exited != nil {
		select {
		case <-m.exited:
		default:
			return nil // running
		}
	}
	if err := os.MkdirAll(m.dir, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(m.dir, "minio.log")
	var errs []error
	for range 5 {
		logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		cmd := exec.Command(m.bin, "server", "--address", m.addr, "--console-address", m.console, filepath.Join(m.dir, "data"))
		cmd.Env = append(environWithout("MINIO_"), "MINIO_ROOT_USER="+m.user, "MINIO_ROOT_PASSWORD="+m.pass, "MINIO_BROWSER=off", "MINIO_UPDATE=off")
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		exited, err := startChild(cmd)
		logf.Close()
		if err != nil {
			return fmt.Errorf("running %s: %w", m.bin, err)
		}
		m.pid, m.exited = cmd.Process.Pid, exited
		if err := waitLive("http://"+m.addr+"/minio/health/live", exited, 30*time.Second); err == nil {
			return nil
		} else {
			errs = append(errs, err)
		}
		_ = syscall.Kill(-m.pid, syscall.SIGKILL)
		<-exited
		time.Sleep(time.Second) // the address may not be free yet
	}
	return fmt.Errorf("MinIO on %s: %w; log %s ends:\n%s", m.addr, errors.Join(errs...), logPath, logTail(logPath, 20))
}

func (m *minioProc) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.exited == nil {
		return
	}
	_ = syscall.Kill(-m.pid, syscall.SIGKILL)
	select {
	case <-m.exited:
	case <-time.After(10 * time.Second):
	}
}

func waitLive(url string, exited <-chan struct{}, timeout time.Duration) error {
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := hc.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("exited during startup")
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("not live after %s", timeout)
}

// startPostgres runs pglocal.Start on a goroutine locked to its OS thread until Postgres
// exits. pglocal asks for SIGQUIT when the thread that started Postgres ends, and the
// runtime ends a thread whenever a goroutine locked to it returns — as startChild's do
// when a floe process dies — so an unlocked start could be stopped by any kill fault.
func startPostgres(ctx context.Context, cfg pglocal.Config) (*pglocal.Server, error) {
	type result struct {
		s   *pglocal.Server
		err error
	}
	ch := make(chan result)
	go func() {
		runtime.LockOSThread()
		s, err := pglocal.Start(ctx, cfg)
		ch <- result{s, err}
		if err == nil {
			<-s.Done()
		}
	}()
	r := <-ch
	return r.s, r.err
}

// startChild starts cmd from a goroutine locked to its OS thread that lives as long as the
// child: Pdeathsig fires when the starting thread exits, so the child dies with the
// harness and not before.
func startChild(cmd *exec.Cmd) (exited chan struct{}, err error) {
	started := make(chan error)
	exited = make(chan struct{})
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(exited)
	}()
	return exited, <-started
}

func environWithout(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			env = append(env, kv)
		}
	}
	return env
}

func freeAddr() (string, error) {
	port, err := pglocal.FreePort()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("127.0.0.1:%d", port), nil
}

func logTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

func stamp() string { return time.Now().Format("15:04:05.000") }
