package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/floemq/floe/internal/miniobin"
)

// minioStartTimeout bounds how long MinIO may take to become live.
const minioStartTimeout = 30 * time.Second

// S3Endpoint describes a running S3-compatible server for tests.
type S3Endpoint struct {
	// URL is the server's base URL, such as "http://127.0.0.1:9000".
	URL string
	// Region is the region to sign requests for.
	Region string
	// AccessKey and SecretKey are credentials with full access.
	AccessKey string
	// SecretKey goes with AccessKey.
	SecretKey string
}

// minioServer is a MinIO process started by this test process.
type minioServer struct {
	endpoint S3Endpoint
	pid      int
	dir      string        // temp dir holding owner.pid, data/ and minio.log
	exited   chan struct{} // closed when the process has exited
}

var (
	minioMu      sync.Mutex
	minioRunning *minioServer
	minioErr     error  // why starting failed; reported to every caller
	minioSkip    string // why MinIO is unavailable (no binary)
)

// MinIO returns a running MinIO. If FLOE_TEST_S3_ENDPOINT is set it
// describes that server (with FLOE_TEST_S3_ACCESS_KEY,
// FLOE_TEST_S3_SECRET_KEY and optionally FLOE_TEST_S3_REGION, default
// us-east-1). Otherwise MinIO is started once per test process from
// minioBinary on free loopback ports with a temporary data directory, and
// stopped by MinIOCleanup; on Linux it also dies with the test process.
//
// If there is no binary the test is skipped with a message saying how to
// build one, unless FLOE_TEST_REQUIRE_MINIO=1 (set in CI), which makes it
// fail instead. A binary that fails to start always fails the test.
func MinIO(t testing.TB) S3Endpoint {
	t.Helper()
	if url := os.Getenv("FLOE_TEST_S3_ENDPOINT"); url != "" {
		region := os.Getenv("FLOE_TEST_S3_REGION")
		if region == "" {
			region = "us-east-1"
		}
		return S3Endpoint{
			URL:       url,
			Region:    region,
			AccessKey: os.Getenv("FLOE_TEST_S3_ACCESS_KEY"),
			SecretKey: os.Getenv("FLOE_TEST_S3_SECRET_KEY"),
		}
	}

	minioMu.Lock()
	defer minioMu.Unlock()
	if minioRunning == nil && minioErr == nil && minioSkip == "" {
		bin := minioBinary()
		if _, err := os.Stat(bin); err != nil {
			minioSkip = fmt.Sprintf("no MinIO server for tests: %v; build it with `GOBIN=%s go install github.com/minio/minio@%s`, "+
				"or set FLOE_MINIO_BIN to a minio binary, or FLOE_TEST_S3_ENDPOINT to a running server",
				err, filepath.Dir(bin), miniobin.Version)
		} else {
			minioRunning, minioErr = minioStart(bin)
			if minioErr == nil {
				t.Logf("started MinIO at %s (log: %s)", minioRunning.endpoint.URL, filepath.Join(minioRunning.dir, "minio.log"))
			}
		}
	}
	if minioSkip != "" {
		if os.Getenv("FLOE_TEST_REQUIRE_MINIO") == "1" {
			t.Fatalf("%s (FLOE_TEST_REQUIRE_MINIO=1)", minioSkip)
		}
		t.Skip(minioSkip)
	}
	if minioErr != nil {
		t.Fatalf("starting MinIO: %v", minioErr)
	}
	return minioRunning.endpoint
}

// minioBinary returns the path of the MinIO binary MinIO starts (see package miniobin).
func minioBinary() string { return miniobin.Path() }

// MinIOCleanup stops the MinIO server that MinIO started, if any, and
// removes its data. Packages whose tests call MinIO must call it from
// TestMain after the tests have run:
//
//	func TestMain(m *testing.M) {
//		defer testenv.MinIOCleanup()
//		m.Run()
//	}
//
// Without it the server is still killed when the test process exits on
// Linux, and its temporary directory is left behind until a later test
// process starts MinIO and removes it.
func MinIOCleanup() {
	minioMu.Lock()
	defer minioMu.Unlock()
	if minioRunning != nil {
		minioRunning.stop()
	}
	minioRunning, minioErr, minioSkip = nil, nil, ""
}

// minioStart starts MinIO from bin and waits until it is live. It tries a
// few times because a free port found beforehand can be taken before MinIO
// binds it.
func minioStart(bin string) (*minioServer, error) {
	minioRemoveStaleDirs()
	dir, err := os.MkdirTemp("", minioDirPrefix)
	if err != nil {
		return nil, err
	}
	owner := filepath.Join(dir, "owner.pid")
	if err := os.WriteFile(owner, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	var errs []error
	for range 3 {
		srv, err := minioStartOnce(bin, dir)
		if err == nil {
			return srv, nil
		}
		errs = append(errs, err)
	}
	_ = os.RemoveAll(dir)
	return nil, errors.Join(errs...)
}

// minioDirPrefix starts the names of the temporary directories of MinIO
// servers started by tests.
const minioDirPrefix = "floe-test-minio-"

// minioRemoveStaleDirs removes the directories of earlier test processes
// that died without calling MinIOCleanup (killed, or timed out). Each
// directory names its owner in owner.pid.
func minioRemoveStaleDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), minioDirPrefix+"*"))
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, "owner.pid"))
		if err != nil {
			continue // not ours, or still being created
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(dir)
		}
	}
}

// minioStartOnce makes one attempt at starting MinIO with its data and log
// in dir.
func minioStartOnce(bin, dir string) (*minioServer, error) {
	addr, err := minioFreeAddr()
	if err != nil {
		return nil, err
	}
	consoleAddr, err := minioFreeAddr()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "minio.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own copy
	fmt.Fprintf(logFile, "=== %s: starting MinIO on %s\n", time.Now().Format(time.RFC3339), addr)

	ep := S3Endpoint{
		URL:       "http://" + addr,
		Region:    "us-east-1",
		AccessKey: "floe-test",
		SecretKey: RandomHex(16),
	}
	cmd := exec.Command(bin, "server", "--address", addr, "--console-address", consoleAddr, filepath.Join(dir, "data"))
	cmd.Env = append(minioEnviron(),
		"MINIO_ROOT_USER="+ep.AccessKey,
		"MINIO_ROOT_PASSWORD="+ep.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = minioSysProcAttr()

	// Pdeathsig fires when the OS thread that started the child exits, not
	// the process. Start it from a goroutine locked to its thread that lives
	// exactly as long as the child.
	started := make(chan error)
	exited := make(chan struct{})
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
	if err := <-started; err != nil {
		return nil, fmt.Errorf("running %s: %w", bin, err)
	}
	srv := &minioServer{endpoint: ep, pid: cmd.Process.Pid, dir: dir, exited: exited}

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(minioStartTimeout)
	for {
		resp, err := client.Get(ep.URL + "/minio/health/live")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return srv, nil
			}
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("MinIO exited during startup; log %s ends:\n%s", logPath, minioLogTail(logPath))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			srv.kill()
			return nil, fmt.Errorf("MinIO on %s not live after %v; log %s ends:\n%s", addr, minioStartTimeout, logPath, minioLogTail(logPath))
		}
	}
}

// kill kills the server's process group and waits for the process to exit.
func (s *minioServer) kill() {
	_ = syscall.Kill(-s.pid, syscall.SIGKILL)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
	}
}

// stop kills the server and removes its directory.
func (s *minioServer) stop() {
	s.kill()
	_ = os.RemoveAll(s.dir)
}

// minioSysProcAttr puts MinIO in its own process group, so that it can be
// killed with everything it starts, and asks the kernel to kill it when the
// test process dies (Floe's tests run on Linux, like pglocal's servers).
func minioSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// minioEnviron returns the test process's environment without MINIO_
// variables, so a developer's MinIO settings do not leak into the server.
func minioEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MINIO_") {
			env = append(env, kv)
		}
	}
	return env
}

// minioFreeAddr returns a loopback address with a port that is free now.
func minioFreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr, nil
}

// minioLogTail returns the last lines of the log at path.
func minioLogTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// MinIOBucket creates a fresh, uniquely named bucket on ep for one test and
// returns its name. The bucket and its objects are deleted when the test
// ends.
func MinIOBucket(t testing.TB, ep S3Endpoint) string {
	t.Helper()
	client := minioClient(ep)
	name := minioBucketName(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if ep.Region != "" && ep.Region != "us-east-1" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{
			LocationConstraint: types.BucketLocationConstraint(ep.Region),
		}
	}
	if _, err := client.CreateBucket(ctx, in); err != nil {
		t.Fatalf("creating test bucket %s on %s: %v", name, ep.URL, err)
	}
	t.Cleanup(func() {
		if err := minioDeleteBucket(client, name); err != nil {
			t.Logf("deleting test bucket %s: %v", name, err)
		}
	})
	return name
}

// minioClient returns an S3 client for ep.
func minioClient(ep S3Endpoint) *s3.Client {
	region := ep.Region
	if region == "" {
		region = "us-east-1"
	}
	return s3.New(s3.Options{
		BaseEndpoint:               aws.String(ep.URL),
		Region:                     region,
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(ep.AccessKey, ep.SecretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// minioDeleteBucket deletes every object in bucket, then the bucket.
func minioDeleteBucket(client *s3.Client, bucket string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var keys []string
	pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("listing: %w", err)
		}
		for _, obj := range page.Contents {
			keys = append(keys, aws.ToString(obj.Key))
		}
	}
	work := make(chan string)
	errs := make(chan error, len(keys))
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for key := range work {
				_, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
				if err != nil {
					errs <- fmt.Errorf("deleting %s: %w", key, err)
				}
			}
		})
	}
	for _, key := range keys {
		work <- key
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if _, err := client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return err
	}
	return nil
}

// minioBucketName returns a unique valid bucket name that mentions the test.
func minioBucketName(testName string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(testName) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.Trim(b.String(), "-")
	if len(name) > 40 {
		name = strings.TrimRight(name[:40], "-")
	}
	if name == "" {
		name = "test"
	}
	return "floe-" + name + "-" + RandomHex(6)
}
