package deploy

import (
	"bufio"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/floemq/floe/httpapi"
	yaml "go.yaml.in/yaml/v3"
)

// The compose stack, as the tests see it: the YAML tree of docker-compose.yml
// with ${VAR} interpolated from .env.example (the way `docker compose` would
// with that file as .env), plus the raw text for the checks that need it.
type stack struct {
	raw      string
	env      map[string]string // KEY=VALUE lines of .env.example
	envText  string            // all of .env.example, comments included
	services map[string]map[string]any
	top      map[string]any
}

var (
	floeServices = []string{"migrate", "ingest", "reader", "compactor"}
	nodeRoles    = map[string]string{"ingest": "ingest", "reader": "reader", "compactor": "compactor"}
	oneShot      = []string{"minio-init", "migrate"} // run to completion, no health check
)

func loadStack(t *testing.T) *stack {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	require.NoError(t, err)
	envRaw, err := os.ReadFile(filepath.Join("..", ".env.example"))
	require.NoError(t, err)

	s := &stack{raw: string(raw), envText: string(envRaw), env: parseDotEnv(t, string(envRaw))}

	var tree any
	require.NoError(t, yaml.Unmarshal(raw, &tree), "docker-compose.yml is not valid YAML")
	tree, err = interpolateTree(tree, s.env)
	require.NoError(t, err)
	top, ok := tree.(map[string]any)
	require.True(t, ok, "docker-compose.yml: top level is not a mapping")
	s.top = top

	svcs, ok := top["services"].(map[string]any)
	require.True(t, ok, "docker-compose.yml: no services mapping")
	s.services = map[string]map[string]any{}
	for name, v := range svcs {
		m, ok := v.(map[string]any)
		require.True(t, ok, "service %s is not a mapping", name)
		s.services[name] = m
	}
	return s
}

// parseDotEnv reads the KEY=VALUE lines of a .env file (comments and blank lines skipped).
func parseDotEnv(t *testing.T, text string) map[string]string {
	t.Helper()
	env := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, ".env.example:%d: not KEY=VALUE: %q", n, line)
		k = strings.TrimSpace(strings.TrimPrefix(k, "export "))
		require.Regexp(t, `^[A-Za-z_][A-Za-z0-9_]*$`, k, ".env.example:%d: bad variable name", n)
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		env[k] = v
	}
	return env
}

// ---- interpolation (the subset of the compose spec this file may use) ----------

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*`)

// interpolate expands $$, $VAR, ${VAR}, ${VAR:-def}, ${VAR-def}, ${VAR:?err},
// ${VAR?err}, ${VAR:+alt} and ${VAR+alt}; nested expressions in def/alt too.
func interpolate(s string, env map[string]string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '$' {
			b.WriteByte(s[i])
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i += 2
			continue
		}
		if i+1 < len(s) && s[i+1] == '{' {
			end := matchingBrace(s, i+1)
			if end < 0 {
				return "", fmt.Errorf("unclosed ${ in %q", s)
			}
			v, err := expandBraced(s[i+2:end], env)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			i = end + 1
			continue
		}
		if name := varName.FindString(s[i+1:]); name != "" {
			b.WriteString(env[name])
			i += 1 + len(name)
			continue
		}
		b.WriteByte('$')
		i++
	}
	return b.String(), nil
}

func matchingBrace(s string, open int) int {
	depth := 0
	for j := open; j < len(s); j++ {
		switch s[j] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

func expandBraced(expr string, env map[string]string) (string, error) {
	name := varName.FindString(expr)
	if name == "" {
		return "", fmt.Errorf("bad variable expression ${%s}", expr)
	}
	val, set := env[name]
	rest := expr[len(name):]
	for _, op := range []string{":-", "-", ":?", "?", ":+", "+"} {
		if !strings.HasPrefix(rest, op) {
			continue
		}
		arg, err := interpolate(rest[len(op):], env)
		if err != nil {
			return "", err
		}
		empty := !set || (strings.HasPrefix(op, ":") && val == "")
		switch strings.TrimPrefix(op, ":") {
		case "-":
			if empty {
				return arg, nil
			}
		case "?":
			if empty {
				return "", fmt.Errorf("required variable %s: %s", name, arg)
			}
		case "+":
			if empty {
				return "", nil
			}
			return arg, nil
		}
		return val, nil
	}
	if rest != "" {
		return "", fmt.Errorf("bad variable expression ${%s}", expr)
	}
	return val, nil
}

// usedVariables lists the variables the compose file reads ($$ is an escape, not a use).
func usedVariables(text string) []string {
	var out []string
	for i := 0; i < len(text); i++ {
		if text[i] != '$' || i+1 >= len(text) {
			continue
		}
		switch {
		case text[i+1] == '$':
			i++
		case text[i+1] == '{':
			if name := varName.FindString(text[i+2:]); name != "" {
				out = append(out, name)
			}
		default:
			if name := varName.FindString(text[i+1:]); name != "" {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func interpolateTree(v any, env map[string]string) (any, error) {
	switch x := v.(type) {
	case string:
		return interpolate(x, env)
	case []any:
		for i := range x {
			y, err := interpolateTree(x[i], env)
			if err != nil {
				return nil, err
			}
			x[i] = y
		}
	case map[string]any:
		for k := range x {
			y, err := interpolateTree(x[k], env)
			if err != nil {
				return nil, err
			}
			x[k] = y
		}
	}
	return v, nil
}

// ---- accessors --------------------------------------------------------------------

func (s *stack) service(t *testing.T, name string) map[string]any {
	t.Helper()
	svc, ok := s.services[name]
	require.True(t, ok, "service %q missing from docker-compose.yml", name)
	return svc
}

// environment returns a service's environment in either compose form (map or KEY=VAL list).
func environment(t *testing.T, svc map[string]any) map[string]string {
	t.Helper()
	out := map[string]string{}
	switch env := svc["environment"].(type) {
	case nil:
	case map[string]any:
		for k, v := range env {
			out[k] = scalar(v)
		}
	case []any:
		for _, item := range env {
			k, v, _ := strings.Cut(scalar(item), "=")
			out[k] = v
		}
	default:
		t.Fatalf("environment has unexpected type %T", env)
	}
	return out
}

func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return strings.Fields(x)
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = scalar(e)
		}
		return out
	}
	return nil
}

// dependsOn returns service -> condition (short list form means service_started).
func dependsOn(svc map[string]any) map[string]string {
	out := map[string]string{}
	switch d := svc["depends_on"].(type) {
	case []any:
		for _, name := range d {
			out[scalar(name)] = "service_started"
		}
	case map[string]any:
		for name, v := range d {
			cond := "service_started"
			if m, ok := v.(map[string]any); ok && m["condition"] != nil {
				cond = scalar(m["condition"])
			}
			out[name] = cond
		}
	}
	return out
}

func replicas(svc map[string]any) int {
	if d, ok := svc["deploy"].(map[string]any); ok && d["replicas"] != nil {
		n, _ := strconv.Atoi(scalar(d["replicas"]))
		return n
	}
	if svc["scale"] != nil {
		n, _ := strconv.Atoi(scalar(svc["scale"]))
		return n
	}
	return 1
}

func isOneShot(name string) bool { return slices.Contains(oneShot, name) }

// volumeMounts returns a service's volumes (short form SRC:DST[:MODE]) as DST -> SRC[:MODE].
func volumeMounts(svc map[string]any) map[string]string {
	out := map[string]string{}
	for _, v := range stringList(svc["volumes"]) {
		parts := strings.Split(v, ":")
		if len(parts) < 2 {
			continue
		}
		src := parts[0]
		if len(parts) > 2 {
			src += ":" + parts[2]
		}
		out[parts[1]] = src
	}
	return out
}

// ---- tests: compose -----------------------------------------------------------------

func TestComposeServicesExist(t *testing.T) {
	s := loadStack(t)
	for _, name := range []string{"postgres", "minio", "minio-init", "migrate", "ingest", "reader", "compactor", "gateway"} {
		s.service(t, name)
	}
	require.Equal(t, 2, replicas(s.service(t, "ingest")), "ingest replicas")
	require.Equal(t, 2, replicas(s.service(t, "reader")), "reader replicas")
	require.Equal(t, 1, replicas(s.service(t, "compactor")), "compactor replicas")

	// Replicas need compose-assigned names and no fixed host ports.
	for _, name := range []string{"ingest", "reader", "compactor"} {
		svc := s.service(t, name)
		require.Nil(t, svc["container_name"], "%s: container_name breaks replicas", name)
		require.Nil(t, svc["ports"], "%s: only the gateway publishes ports", name)
	}
}

func TestComposeImagesPinned(t *testing.T) {
	s := loadStack(t)
	require.Equal(t, "postgres:15", scalar(s.service(t, "postgres")["image"]))
	for _, name := range []string{"minio", "minio-init"} {
		img := scalar(s.service(t, name)["image"])
		require.Regexp(t, `^(quay\.io/|docker\.io/)?minio/(minio|mc):RELEASE\.\d{4}-\d{2}-\d{2}T`, img, "%s: pin a MinIO release", name)
	}
	require.Regexp(t, `^nginx:\d+\.\d+`, scalar(s.service(t, "gateway")["image"]), "gateway: pin an nginx version")
}

func TestComposeFloeServices(t *testing.T) {
	s := loadStack(t)
	pgUser, pgPass, pgDB := s.pgSettings(t)
	bucket := s.env["FLOE_S3_BUCKET"]
	require.NotEmpty(t, bucket, ".env.example must set FLOE_S3_BUCKET")

	for _, name := range floeServices {
		t.Run(name, func(t *testing.T) {
			svc := s.service(t, name)

			build, ok := svc["build"].(map[string]any)
			require.True(t, ok, "%s: must be built from the Dockerfile", name)
			require.Equal(t, ".", scalar(build["context"]))
			require.Contains(t, []string{"", "Dockerfile"}, scalar(build["dockerfile"]))

			env := environment(t, svc)
			db, err := url.Parse(env["FLOE_DATABASE_URL"])
			require.NoError(t, err)
			require.Contains(t, []string{"postgres", "postgresql"}, db.Scheme)
			require.Equal(t, "postgres", db.Hostname(), "FLOE_DATABASE_URL must point at the postgres service")
			require.Contains(t, []string{"", "5432"}, db.Port())
			require.Equal(t, pgUser, db.User.Username())
			pw, _ := db.User.Password()
			require.Equal(t, pgPass, pw)
			require.Equal(t, "/"+pgDB, db.Path)

			s3, err := url.Parse(env["FLOE_S3_ENDPOINT"])
			require.NoError(t, err)
			require.Equal(t, "minio", s3.Hostname(), "FLOE_S3_ENDPOINT must point at the minio service")
			require.Equal(t, "9000", s3.Port())
			require.Equal(t, "true", env["FLOE_S3_PATH_STYLE"], "MinIO needs path-style addressing")
			require.Equal(t, bucket, env["FLOE_S3_BUCKET"])
			require.Equal(t, s.env["MINIO_ROOT_USER"], env["FLOE_S3_ACCESS_KEY_ID"])
			require.Equal(t, s.env["MINIO_ROOT_PASSWORD"], env["FLOE_S3_SECRET_ACCESS_KEY"])

			deps := dependsOn(svc)
			require.Equal(t, "service_healthy", deps["postgres"], "%s must wait for a healthy postgres", name)

			cmd := stringList(svc["command"])
			if name == "migrate" {
				require.Equal(t, []string{"migrate"}, cmd)
				require.Equal(t, "no", scalar(svc["restart"]), "migrate runs once")
				return
			}
			require.Equal(t, []string{"serve"}, cmd)
			require.Equal(t, nodeRoles[name], env["FLOE_ROLES"], "%s: roles", name)
			require.Equal(t, "false", env["FLOE_MIGRATE"], "%s: migrations belong to the migrate service", name)
			require.Equal(t, "service_completed_successfully", deps["migrate"], "%s must start after migrate", name)
			require.Equal(t, "service_completed_successfully", deps["minio-init"], "%s must start after the bucket exists", name)
			require.Equal(t, "service_healthy", deps["minio"])
			require.Equal(t, []string{"CMD", "/floe", "health"}, stringList(healthcheck(t, svc)["test"]))
		})
	}

	// Every node shares one receipt secret, or acks fail across readers.
	secrets := map[string]bool{}
	for role := range nodeRoles {
		secrets[environment(t, s.service(t, role))["FLOE_RECEIPT_SECRET"]] = true
	}
	require.Len(t, secrets, 1, "FLOE_RECEIPT_SECRET must be the same on every node")
}

func (s *stack) pgSettings(t *testing.T) (user, pass, db string) {
	t.Helper()
	env := environment(t, s.service(t, "postgres"))
	require.NotEmpty(t, env["POSTGRES_PASSWORD"])
	return env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"]
}

// The admin key that a fresh stack uses must not be guessable: no floe service may carry
// a default key, with .env.example or without any .env, and every service finds the key
// file that the first node generates in a shared, writable volume.
func TestComposeBootstrapAdminKeyGenerated(t *testing.T) {
	s := loadStack(t)
	const secretsDir, keyFile = "/var/lib/floe-secrets", "/var/lib/floe-secrets/admin-key"

	var bare any // docker-compose.yml with no .env and nothing set in the shell
	require.NoError(t, yaml.Unmarshal([]byte(s.raw), &bare))
	bare, err := interpolateTree(bare, map[string]string{})
	require.NoError(t, err)
	bareServices := bare.(map[string]any)["services"].(map[string]any)

	vols, _ := s.top["volumes"].(map[string]any)
	for _, name := range floeServices {
		svc := s.service(t, name)
		env := environment(t, svc)
		require.Empty(t, env["FLOE_BOOTSTRAP_ADMIN_KEY"], "%s: no admin key may be shipped (.env.example)", name)
		require.Empty(t, environment(t, bareServices[name].(map[string]any))["FLOE_BOOTSTRAP_ADMIN_KEY"],
			"%s: no default admin key in docker-compose.yml", name)
		require.Equal(t, keyFile, env["FLOE_BOOTSTRAP_ADMIN_KEY_FILE"], "%s: key file", name)

		src := volumeMounts(svc)[secretsDir]
		require.Equal(t, "floe-secrets", src, "%s must mount the floe-secrets volume read-write at %s", name, secretsDir)
		_, ok := vols[src]
		require.True(t, ok, "%s: %s must be a named volume (shared by every node, kept across restarts)", name, src)
	}
	// The explicit key of .env still reaches the nodes when set.
	require.Contains(t, s.raw, "FLOE_BOOTSTRAP_ADMIN_KEY: ${FLOE_BOOTSTRAP_ADMIN_KEY:-}")
	val, ok := s.env["FLOE_BOOTSTRAP_ADMIN_KEY"]
	require.True(t, ok, ".env.example must list FLOE_BOOTSTRAP_ADMIN_KEY")
	require.Empty(t, val, ".env.example must not ship an admin key")
	require.NotContains(t, s.raw+s.envText, "dev-only-admin-key")
	// How to get the generated key without a shell in the image.
	require.Contains(t, s.envText, `docker compose logs | grep "admin key"`)
	require.Contains(t, s.envText, "docker compose cp compactor:"+keyFile+" - | tar -xO")

	// The image runs as a non-root user, so it must bring the mount point owned by that
	// user: a new named volume copies the owner of the folder it is mounted on.
	df, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	require.NoError(t, err)
	require.Regexp(t, `(?m)^USER nonroot(:nonroot)?$`, string(df))
	require.Regexp(t, `(?m)^COPY --from=build --chown=(65532:65532|nonroot:nonroot)\b.* /var/lib/floe-secrets$`, string(df))
}

func TestComposeBucketCreated(t *testing.T) {
	s := loadStack(t)
	init := s.service(t, "minio-init")
	script := strings.Join(append(stringList(init["entrypoint"]), stringList(init["command"])...), " ")
	require.Contains(t, script, "mc mb")
	require.Contains(t, script, "/"+s.env["FLOE_S3_BUCKET"])
	require.Contains(t, script, "http://minio:9000")
	require.Equal(t, "service_healthy", dependsOn(init)["minio"])
}

func healthcheck(t *testing.T, svc map[string]any) map[string]any {
	t.Helper()
	hc, ok := svc["healthcheck"].(map[string]any)
	require.True(t, ok, "no healthcheck")
	require.NotEqual(t, true, hc["disable"])
	test := stringList(hc["test"])
	require.NotEmpty(t, test)
	require.NotEqual(t, "NONE", test[0])
	return hc
}

func TestComposeHealthChecksAndDependencies(t *testing.T) {
	s := loadStack(t)
	for name, svc := range s.services {
		if !isOneShot(name) {
			healthcheck(t, svc)
			require.NotEqual(t, "no", scalar(svc["restart"]), "%s: a long-running service should restart", name)
		}
		for dep, cond := range dependsOn(svc) {
			_, ok := s.services[dep]
			require.True(t, ok, "%s depends on unknown service %s", name, dep)
			want := "service_healthy"
			if isOneShot(dep) {
				want = "service_completed_successfully"
			}
			require.Equal(t, want, cond, "%s -> %s: depends_on condition", name, dep)
		}
	}
	pg := stringList(healthcheck(t, s.service(t, "postgres"))["test"])
	require.Contains(t, strings.Join(pg, " "), "pg_isready")

	gw := dependsOn(s.service(t, "gateway"))
	require.Equal(t, "service_healthy", gw["ingest"])
	require.Equal(t, "service_healthy", gw["reader"])

	vols, _ := s.top["volumes"].(map[string]any)
	for _, name := range []string{"postgres", "minio"} {
		mounted := false
		for _, v := range stringList(s.service(t, name)["volumes"]) {
			src, _, _ := strings.Cut(v, ":")
			if _, ok := vols[src]; ok {
				mounted = true
			}
		}
		require.True(t, mounted, "%s must keep its data in a named volume", name)
	}
}

func TestComposeGateway(t *testing.T) {
	s := loadStack(t)
	gw := s.service(t, "gateway")

	// host port -> container port, as .env.example sets them.
	published := map[string]string{}
	for _, p := range stringList(gw["ports"]) {
		parts := strings.Split(p, ":")
		if len(parts) >= 2 {
			published[parts[len(parts)-1]] = parts[len(parts)-2]
		}
	}
	require.Equal(t, "8080", published["8080"], "gateway must publish host port 8080 -> 8080, got %v", gw["ports"])
	require.Equal(t, "8081", published["8081"], "gateway must publish host port 8081 -> 8081 (gRPC), got %v", gw["ports"])
	require.Equal(t, s.env["GATEWAY_GRPC_PORT"], published["8081"])
	require.Contains(t, s.raw, "${GATEWAY_GRPC_PORT:-8081}:8081", "the gRPC host port is set by GATEWAY_GRPC_PORT")
	// Bound to the loopback address unless asked otherwise.
	for _, p := range stringList(gw["ports"]) {
		require.True(t, strings.HasPrefix(p, "127.0.0.1:"), "gateway port %s must bind 127.0.0.1 by default", p)
	}

	// The gateway's gRPC upstreams dial the port the nodes serve gRPC on.
	for _, name := range []string{"ingest", "reader"} {
		listen := environment(t, s.service(t, name))["FLOE_GRPC_LISTEN"]
		_, port, err := net.SplitHostPort(listen)
		require.NoError(t, err, "%s: FLOE_GRPC_LISTEN=%q", name, listen)
		require.Equal(t, "8081", port, "%s: FLOE_GRPC_LISTEN", name)
	}

	mounted := false
	for _, v := range stringList(gw["volumes"]) {
		if strings.HasPrefix(v, "./deploy/nginx.conf:/etc/nginx/nginx.conf") {
			mounted = true
		}
	}
	require.True(t, mounted, "gateway must mount ./deploy/nginx.conf as /etc/nginx/nginx.conf")

	// The gateway's health check hits a location that nginx answers itself.
	conf := loadNginx(t)
	test := strings.Join(stringList(healthcheck(t, gw)["test"]), " ")
	m := regexp.MustCompile(`http://(?:127\.0\.0\.1|localhost):8080(/\S*)`).FindStringSubmatch(test)
	require.NotNil(t, m, "gateway health check must GET a local URL on 8080: %s", test)
	loc := conf.route(t, "GET", m[1])
	require.Equal(t, []string{"200"}, firstArgs(loc.find("return"))[:1], "health location must return 200")
}

func TestComposeVariablesDocumented(t *testing.T) {
	s := loadStack(t)
	for _, v := range usedVariables(s.raw) {
		_, ok := s.env[v]
		require.True(t, ok, "docker-compose.yml uses ${%s}; add it to .env.example", v)
	}
	// Every setting a floe container gets is explained in .env.example.
	for _, name := range floeServices {
		for k := range environment(t, s.service(t, name)) {
			require.Contains(t, s.envText, k, ".env.example must document %s", k)
		}
	}
}

func TestComposeInterpolation(t *testing.T) {
	env := map[string]string{"A": "a", "E": ""}
	for in, want := range map[string]string{
		"${A}":          "a",
		"$A/x":          "a/x",
		"$$A":           "$A",
		"$${A}":         "${A}",
		"${B:-b}":       "b",
		"${E:-e}":       "e",
		"${E-e}":        "",
		"${B:-${A}x}":   "ax",
		"${A:+set}":     "set",
		"${B:+set}":     "",
		"x${A}y${B-z}w": "xayzw",
	} {
		got, err := interpolate(in, env)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	_, err := interpolate("${B:?need B}", env)
	require.Error(t, err)
	require.Equal(t, []string{"A", "B", "C"}, usedVariables("$$X ${A} $B ${C:-${A}} $${D}"))
}

// TestComposeConfigValid asks the docker compose CLI to validate the file, when
// it is installed (the check needs no Docker engine).
func TestComposeConfigValid(t *testing.T) {
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("docker CLI not installed")
	}
	if out, err := exec.Command(docker, "compose", "version").CombinedOutput(); err != nil {
		t.Skipf("docker compose plugin not available: %s", strings.TrimSpace(string(out)))
	}
	cmd := exec.Command(docker, "compose", "-f", "docker-compose.yml", "--env-file", ".env.example", "config", "-q")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "docker compose config: %s", out)
}

// ---- nginx -------------------------------------------------------------------------

// directive is one nginx directive: name, arguments and, for blocks, children.
type directive struct {
	name     string
	args     []string
	children []*directive
	block    bool
}

func (d *directive) find(name string) []*directive {
	var out []*directive
	for _, c := range d.children {
		if c.name == name {
			out = append(out, c)
		}
	}
	return out
}

func firstArgs(ds []*directive) []string {
	if len(ds) == 0 {
		return []string{""}
	}
	return ds[0].args
}

func tokenizeNginx(t *testing.T, src string) []string {
	t.Helper()
	var toks []string
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '{' || c == '}' || c == ';':
			toks = append(toks, string(c))
			i++
		case c == '"' || c == '\'':
			j := i + 1
			var b strings.Builder
			for ; j < len(src) && src[j] != c; j++ {
				if src[j] == '\\' && j+1 < len(src) {
					j++
				}
				b.WriteByte(src[j])
			}
			require.Less(t, j, len(src), "nginx.conf: unterminated quote")
			toks = append(toks, b.String())
			i = j + 1
		default:
			j := i
			for j < len(src) && !strings.ContainsRune(" \t\r\n{};#", rune(src[j])) {
				j++
			}
			toks = append(toks, src[i:j])
			i = j
		}
	}
	return toks
}

func parseNginx(t *testing.T, toks []string) *directive {
	t.Helper()
	root := &directive{block: true}
	stack := []*directive{root}
	var cur *directive
	for _, tok := range toks {
		parent := stack[len(stack)-1]
		switch tok {
		case ";":
			require.NotNil(t, cur, "nginx.conf: stray ;")
			parent.children = append(parent.children, cur)
			cur = nil
		case "{":
			require.NotNil(t, cur, "nginx.conf: block without a name")
			cur.block = true
			parent.children = append(parent.children, cur)
			stack = append(stack, cur)
			cur = nil
		case "}":
			require.Nil(t, cur, "nginx.conf: directive %v not ended by ;", cur)
			require.Greater(t, len(stack), 1, "nginx.conf: unbalanced }")
			stack = stack[:len(stack)-1]
		default:
			if cur == nil {
				cur = &directive{name: tok}
			} else {
				cur.args = append(cur.args, tok)
			}
		}
	}
	require.Nil(t, cur, "nginx.conf: last directive not ended")
	require.Len(t, stack, 1, "nginx.conf: unbalanced {")
	return root
}

type nginxConf struct {
	http      *directive
	server    *directive                     // the HTTP API (listen 8080)
	grpc      *directive                     // the RocketMQ gRPC protocol (listen 8081)
	upstreams map[string][]string            // name -> server host:port
	hash      map[string][]string            // name -> args of its hash directive, if any
	maps      map[string]map[string][]string // $var -> source var + value table
}

func loadNginx(t *testing.T) *nginxConf {
	t.Helper()
	raw, err := os.ReadFile("nginx.conf")
	require.NoError(t, err)
	root := parseNginx(t, tokenizeNginx(t, string(raw)))
	https := root.find("http")
	require.Len(t, https, 1, "nginx.conf: one http block")
	c := &nginxConf{http: https[0], upstreams: map[string][]string{}, hash: map[string][]string{}, maps: map[string]map[string][]string{}}
	// Two server blocks, told apart by their port: the HTTP API and gRPC.
	servers := c.http.find("server")
	require.Len(t, servers, 2, "nginx.conf: two server blocks (HTTP API on 8080, gRPC on 8081)")
	for _, srv := range servers {
		switch firstArgs(srv.find("listen"))[0] {
		case "8080":
			c.server = srv
		case "8081":
			c.grpc = srv
		}
	}
	require.NotNil(t, c.server, "nginx.conf: no server block listens on 8080")
	require.NotNil(t, c.grpc, "nginx.conf: no server block listens on 8081")
	for _, u := range c.http.find("upstream") {
		require.Len(t, u.args, 1)
		for _, srv := range u.find("server") {
			c.upstreams[u.args[0]] = append(c.upstreams[u.args[0]], srv.args[0])
		}
		if h := u.find("hash"); len(h) > 0 {
			c.hash[u.args[0]] = h[0].args
		}
	}
	for _, m := range c.http.find("map") {
		require.Len(t, m.args, 2, "map SOURCE $VAR")
		table := map[string][]string{"": {m.args[0]}} // "" holds the source variable
		for _, e := range m.children {
			table[e.name] = e.args
		}
		c.maps[m.args[1]] = table
	}
	return c
}

// route picks the location nginx would use for a request path, following
// nginx's order: exact (=) match, else the longest prefix; a ^~ prefix stops
// there, otherwise the first matching regex (~, ~*) in file order wins, and
// the longest prefix only if none matches.
func (c *nginxConf) route(t *testing.T, method, path string) *directive {
	t.Helper()
	return routeIn(t, c.server, method, path)
}

// routeIn is route within one server block.
func routeIn(t *testing.T, server *directive, method, path string) *directive {
	t.Helper()
	var best *directive
	bestLen := -1
	for _, loc := range server.find("location") {
		require.NotEmpty(t, loc.args)
		if loc.args[0] == "=" && len(loc.args) == 2 && loc.args[1] == path {
			return loc
		}
		prefix := ""
		switch {
		case len(loc.args) == 1:
			prefix = loc.args[0]
		case loc.args[0] == "^~":
			prefix = loc.args[1]
		default:
			continue
		}
		if strings.HasPrefix(path, prefix) && len(prefix) > bestLen {
			best, bestLen = loc, len(prefix)
		}
	}
	if best != nil && best.args[0] == "^~" {
		return best
	}
	for _, loc := range server.find("location") {
		if len(loc.args) != 2 || (loc.args[0] != "~" && loc.args[0] != "~*") {
			continue
		}
		expr := loc.args[1]
		if loc.args[0] == "~*" {
			expr = "(?i)" + expr
		}
		if regexp.MustCompile(expr).MatchString(path) {
			return loc
		}
	}
	require.NotNil(t, best, "no location matches %s %s", method, path)
	return best
}

// backends returns the compose services a request reaches through the gateway.
func (c *nginxConf) backends(t *testing.T, method, path string) []string {
	t.Helper()
	loc := c.route(t, method, strings.SplitN(path, "?", 2)[0])
	pass := firstArgs(loc.find("proxy_pass"))[0]
	require.True(t, strings.HasPrefix(pass, "http://"), "%s %s: location %v has no proxy_pass", method, path, loc.args)
	upstream := strings.TrimPrefix(pass, "http://")
	if strings.HasPrefix(upstream, "$") {
		table, ok := c.maps[upstream]
		require.True(t, ok, "proxy_pass %s: no map defines it", upstream)
		require.Equal(t, "$request_method", table[""][0], "only $request_method maps are understood")
		if v, ok := table[method]; ok {
			upstream = v[0]
		} else {
			upstream = table["default"][0]
		}
	}
	servers, ok := c.upstreams[upstream]
	require.True(t, ok, "%s %s: unknown upstream %q", method, path, upstream)
	var hosts []string
	for _, s := range servers {
		host, port, err := net.SplitHostPort(s)
		require.NoError(t, err)
		require.Equal(t, "8080", port, "upstream %s: floe listens on 8080", upstream)
		hosts = append(hosts, host)
	}
	slices.Sort(hosts)
	return slices.Compact(hosts)
}

// gatewayRoutes is the routing contract: produce -> ingest, consume and lookups -> reader.
var gatewayRoutes = []struct {
	method, path string
	want         []string // nil: any Floe node (admin)
}{
	{"POST", "/v1/topics/orders/messages", []string{"ingest"}},
	{"POST", "/v1/topics/orders/transactions", []string{"ingest"}},
	{"POST", "/v1/transactions/tx-1/commit", []string{"ingest"}},
	{"POST", "/v1/transactions/tx-1/rollback", []string{"ingest"}},
	{"GET", "/v1/producer-groups/pg/transaction-checks?waitSeconds=10", []string{"ingest"}},
	{"POST", "/v1/groups/billing/topics/orders/receive", []string{"reader"}},
	{"POST", "/v1/groups/billing/topics/orders/ack", []string{"reader"}},
	{"POST", "/v1/groups/billing/topics/orders/nack", []string{"reader"}},
	{"POST", "/v1/groups/billing/topics/orders/change-invisible", []string{"reader"}},
	{"POST", "/v1/groups/billing/topics/orders/change-invisible-batch", []string{"reader"}},
	{"POST", "/v1/groups/billing/topics/orders/reset", []string{"reader"}},
	{"GET", "/v1/topics/orders/queues/3/messages?offset=0&limit=100", []string{"reader"}},
	{"GET", "/v1/topics/orders/messages?key=order-1", []string{"reader"}},
	{"GET", "/v1/topics/orders/messages/0A1B2C", []string{"reader"}},
	{"GET", "/v1/topics/orders/messages/0A1B2C/trace", []string{"reader"}},
	{"POST", "/v1/topics", nil},
	{"GET", "/v1/topics/orders", nil},
	{"PUT", "/v1/groups/billing/subscriptions/orders", nil},
	{"GET", "/v1/groups/billing/lag", []string{"reader"}},
	{"GET", "/v1/groups/billing/lag/history", []string{"reader"}},
	{"POST", "/v1/topics/orders/messages/recall", []string{"ingest"}},
	{"GET", "/healthz", nil},
}

func TestNginxRouting(t *testing.T) {
	c := loadNginx(t)
	routes := slices.Clone(gatewayRoutes)
	// Every route of the API, from its OpenAPI document: a route added there is routed
	// here, or this test fails.
	spec, err := httpapi.Routes()
	require.NoError(t, err)
	for _, r := range spec {
		var want []string
		if r.Role != "any" {
			want = []string{r.Role}
		}
		routes = append(routes, struct {
			method, path string
			want         []string
		}{r.Method, r.ExamplePath(), want})
	}
	for _, r := range routes {
		got := c.backends(t, r.method, r.path)
		if r.want == nil {
			require.NotEmpty(t, got, "%s %s", r.method, r.path)
			for _, h := range got {
				require.Contains(t, []string{"ingest", "reader"}, h, "%s %s", r.method, r.path)
			}
			continue
		}
		require.Equal(t, r.want, got, "%s %s", r.method, r.path)
	}
}

func TestNginxLimits(t *testing.T) {
	c := loadNginx(t)
	require.Equal(t, []string{"64m"}, firstArgs(c.http.find("client_max_body_size")), "64 MiB request limit")
	for _, name := range []string{"proxy_read_timeout", "proxy_send_timeout"} {
		d, err := nginxDuration(firstArgs(c.http.find(name))[0])
		require.NoError(t, err, name)
		require.GreaterOrEqual(t, d, 40*time.Second, "%s must allow long polls", name)
	}
	require.Equal(t, []string{"8080"}, firstArgs(c.server.find("listen")))
	// Locations must not override the long-poll timeouts downwards.
	for _, loc := range c.server.find("location") {
		require.Empty(t, loc.find("proxy_read_timeout"), "location %v", loc.args)
	}
}

func nginxDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("not set")
	}
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}
