package deploy

import (
	"net"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"
)

// grpcRoute is where the gateway must send one RPC of the RocketMQ 5 protocol.
type grpcRoute struct {
	want []string // compose services; {"ingest", "reader"}: any node with a gRPC front end
	// sticky: the upstream is chosen by the client id (x-mq-client-id), so that one
	// client's Telemetry stream, Heartbeats and NotifyClientTermination reach one node.
	sticky bool
	why    string
}

// grpcRoutes is the gRPC routing contract, one entry per RPC of
// apache.rocketmq.v2.MessagingService (TestNginxGRPCRoutesCoverService keeps it
// complete): the roles each call needs are in docs/grpc.md.
var grpcRoutes = map[string]grpcRoute{
	"SendMessage":    {want: []string{"ingest"}, why: "needs the ingest role"},
	"EndTransaction": {want: []string{"ingest"}, why: "needs the ingest role"},
	"RecallMessage":  {want: []string{"ingest"}, why: "a producer call: the recall of a delayed message"},

	"Telemetry":               {want: []string{"ingest"}, sticky: true, why: "producers' stream carries transaction checks from an ingest node"},
	"Heartbeat":               {want: []string{"ingest"}, sticky: true, why: "answered by the node that holds the client's Telemetry settings"},
	"NotifyClientTermination": {want: []string{"ingest"}, sticky: true, why: "forgets the client on the node that holds it"},

	"ReceiveMessage":                  {want: []string{"reader"}, why: "needs the reader role"},
	"AckMessage":                      {want: []string{"reader"}, why: "needs the reader role"},
	"ChangeInvisibleDuration":         {want: []string{"reader"}, why: "needs the reader role"},
	"ForwardMessageToDeadLetterQueue": {want: []string{"reader"}, why: "needs the reader role"},
	"QueryAssignment":                 {want: []string{"reader"}, why: "needs the reader role"},
	"SyncLiteSubscription":            {want: []string{"reader"}, why: "needs the reader role"},
	"PullMessage":                     {want: []string{"reader"}, why: "a consumer call (UNSUPPORTED on every node)"},
	"UpdateOffset":                    {want: []string{"reader"}, why: "a consumer call (UNSUPPORTED on every node)"},
	"GetOffset":                       {want: []string{"reader"}, why: "a consumer call (UNSUPPORTED on every node)"},
	"QueryOffset":                     {want: []string{"reader"}, why: "a consumer call (UNSUPPORTED on every node)"},

	"QueryRoute": {want: []string{"ingest", "reader"}, why: "answered by every node"},
}

const grpcService = "apache.rocketmq.v2.MessagingService"

// grpcMethods lists the RPCs of the generated service, the ones the official
// clients may call.
func grpcMethods(t *testing.T) []string {
	t.Helper()
	desc := v2.MessagingService_ServiceDesc
	require.Equal(t, grpcService, desc.ServiceName)
	var out []string
	for _, m := range desc.Methods {
		out = append(out, m.MethodName)
	}
	for _, s := range desc.Streams {
		out = append(out, s.StreamName)
	}
	sort.Strings(out)

	// The server interface Floe implements names the same RPCs.
	var iface []string
	typ := reflect.TypeFor[v2.MessagingServiceServer]()
	for i := range typ.NumMethod() {
		if m := typ.Method(i); m.IsExported() {
			iface = append(iface, m.Name)
		}
	}
	sort.Strings(iface)
	require.Equal(t, iface, out, "MessagingService_ServiceDesc and MessagingServiceServer disagree")
	require.GreaterOrEqual(t, len(out), 17)
	return out
}

// TestNginxGRPCRoutesCoverService fails when the protocol gains an RPC that the
// routing contract (and so the gateway) does not cover, or the contract names one
// the protocol does not have.
func TestNginxGRPCRoutesCoverService(t *testing.T) {
	methods := grpcMethods(t)
	for _, m := range methods {
		_, ok := grpcRoutes[m]
		require.True(t, ok, "RPC %s has no entry in grpcRoutes: decide which role serves it and route it in deploy/nginx.conf", m)
	}
	for m := range grpcRoutes {
		require.Contains(t, methods, m, "grpcRoutes names %s, which the protocol does not have", m)
	}
}

// grpcUpstream returns the location and upstream a gRPC method reaches on port 8081.
func (c *nginxConf) grpcUpstream(t *testing.T, method string) (loc *directive, upstream string) {
	t.Helper()
	loc = routeIn(t, c.grpc, "POST", "/"+grpcService+"/"+method)
	pass := firstArgs(loc.find("grpc_pass"))[0]
	require.True(t, strings.HasPrefix(pass, "grpc://"), "%s: location %v has no grpc_pass grpc://", method, loc.args)
	upstream = strings.TrimPrefix(pass, "grpc://")
	require.NotContains(t, upstream, "$", "%s: gRPC upstreams are named, not mapped", method)
	_, ok := c.upstreams[upstream]
	require.True(t, ok, "%s: unknown upstream %q", method, upstream)
	return loc, upstream
}

// grpcBackends returns the compose services behind an upstream, checking they are
// dialed on the nodes' gRPC port.
func (c *nginxConf) grpcBackends(t *testing.T, upstream string) []string {
	t.Helper()
	var hosts []string
	for _, s := range c.upstreams[upstream] {
		host, port, err := net.SplitHostPort(s)
		require.NoError(t, err)
		require.Equal(t, "8081", port, "upstream %s: floe serves gRPC on 8081", upstream)
		hosts = append(hosts, host)
	}
	slices.Sort(hosts)
	return slices.Compact(hosts)
}

func TestNginxGRPCRouting(t *testing.T) {
	c := loadNginx(t)
	sticky := map[string]bool{} // upstreams of the client-session calls
	for _, method := range grpcMethods(t) {
		r := grpcRoutes[method]
		loc, upstream := c.grpcUpstream(t, method)
		// Routed by name, not by the catch-all (which answers UNIMPLEMENTED).
		require.NotEqual(t, []string{"/"}, loc.args, "%s reaches the catch-all location", method)
		require.Equal(t, r.want, c.grpcBackends(t, upstream), "%s (%s)", method, r.why)
		if r.sticky {
			require.Equal(t, []string{"$http_x_mq_client_id", "consistent"}, c.hash[upstream],
				"%s: upstream %s must hash on the client id", method, upstream)
			sticky[upstream] = true
		} else {
			require.Nil(t, c.hash[upstream], "%s: upstream %s spreads calls, no hash", method, upstream)
		}
	}
	// Telemetry, Heartbeat and NotifyClientTermination: one upstream, so one node per client.
	require.Len(t, sticky, 1, "the client-session calls must share one hashed upstream: %v", sticky)

	// An unknown method gets UNIMPLEMENTED from the gateway itself.
	for _, path := range []string{"/" + grpcService + "/NoSuchMethod", "/" + grpcService + "/SendMessageX", "/grpc.health.v1.Health/Check"} {
		loc := routeIn(t, c.grpc, "POST", path)
		require.Empty(t, loc.find("grpc_pass"), "%s must not be proxied", path)
		require.Equal(t, []string{"200"}, firstArgs(loc.find("return")), path)
		var status string
		for _, h := range loc.find("add_header") {
			if h.args[0] == "grpc-status" {
				status = h.args[1]
			}
		}
		require.Equal(t, "12", status, "%s: grpc-status UNIMPLEMENTED", path)
	}
}

// grpcSetting is a directive's value in effect in a gRPC location: the
// location's, else the server's, else the http block's, else nginx's default.
func (c *nginxConf) grpcSetting(loc *directive, name, def string) string {
	for _, d := range []*directive{loc, c.grpc, c.http} {
		if v := d.find(name); len(v) > 0 {
			return v[0].args[0]
		}
	}
	return def
}

func TestNginxGRPCLimits(t *testing.T) {
	c := loadNginx(t)
	require.Equal(t, []string{"8081"}, firstArgs(c.grpc.find("listen")))
	require.Equal(t, []string{"on"}, firstArgs(c.grpc.find("http2")), "gRPC needs HTTP/2 (plaintext, prior knowledge)")
	require.Empty(t, c.server.find("http2"), "the HTTP API stays HTTP/1.1")

	// Every call: at least the long-poll budget (a receive waits up to 30 s on the node).
	for _, method := range grpcMethods(t) {
		loc, _ := c.grpcUpstream(t, method)
		for _, name := range []string{"grpc_read_timeout", "grpc_send_timeout"} {
			d, err := nginxDuration(c.grpcSetting(loc, name, "60s"))
			require.NoError(t, err, "%s: %s", method, name)
			require.GreaterOrEqual(t, d, 40*time.Second, "%s: %s must allow long polls", method, name)
		}
	}

	// Telemetry is a stream that lives as long as the client and may be silent for
	// long stretches both ways: hours, and no limit on its (never-ending) request body.
	loc, _ := c.grpcUpstream(t, "Telemetry")
	for _, name := range []string{"grpc_read_timeout", "grpc_send_timeout", "client_body_timeout"} {
		d, err := nginxDuration(c.grpcSetting(loc, name, "60s"))
		require.NoError(t, err, name)
		require.GreaterOrEqual(t, d, time.Hour, "Telemetry: %s", name)
	}
	require.Equal(t, "0", c.grpcSetting(loc, "client_max_body_size", "1m"), "Telemetry: unlimited request body")

	// A call is never replayed on a second node after it was sent (a SendMessage
	// would be stored twice): retries only for connection errors and timeouts,
	// which nginx applies to POSTs (all gRPC calls) only before sending.
	for _, v := range c.grpc.find("grpc_next_upstream") {
		require.NotContains(t, v.args, "non_idempotent")
	}
}
