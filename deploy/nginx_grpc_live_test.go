package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// upstreamCall is one call a fake node received.
type upstreamCall struct {
	method   string // short name, e.g. "SendMessage"
	node     string // "ingest-a", "ingest-b", "reader"
	clientID string // its x-mq-client-id header
}

// callLog collects the calls of every fake node.
type callLog struct {
	mu    sync.Mutex
	calls []upstreamCall
}

func (l *callLog) add(ctx context.Context, fullMethod, node string) {
	var id string
	if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get("x-mq-client-id")) > 0 {
		id = md.Get("x-mq-client-id")[0]
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, upstreamCall{method: fullMethod[strings.LastIndex(fullMethod, "/")+1:], node: node, clientID: id})
}

// take returns the calls logged since the last take.
func (l *callLog) take() []upstreamCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.calls
	l.calls = nil
	return out
}

// fakeNode stands in for a Floe node's gRPC front end: every call is logged with
// the node's name; the calls the test looks at answer with that name too.
type fakeNode struct {
	v2.UnimplementedMessagingServiceServer
	name string
}

func (f *fakeNode) named() *v2.Status { return &v2.Status{Code: v2.Code_OK, Message: f.name} }

func (f *fakeNode) SendMessage(context.Context, *v2.SendMessageRequest) (*v2.SendMessageResponse, error) {
	return &v2.SendMessageResponse{Status: f.named()}, nil
}

func (f *fakeNode) Heartbeat(context.Context, *v2.HeartbeatRequest) (*v2.HeartbeatResponse, error) {
	return &v2.HeartbeatResponse{Status: f.named()}, nil
}

func (f *fakeNode) QueryRoute(context.Context, *v2.QueryRouteRequest) (*v2.QueryRouteResponse, error) {
	return &v2.QueryRouteResponse{Status: f.named()}, nil
}

func (f *fakeNode) ReceiveMessage(_ *v2.ReceiveMessageRequest, stream grpc.ServerStreamingServer[v2.ReceiveMessageResponse]) error {
	// A long poll in miniature: the answer comes after a while, as two messages.
	time.Sleep(200 * time.Millisecond)
	if err := stream.Send(&v2.ReceiveMessageResponse{Content: &v2.ReceiveMessageResponse_Message{Message: &v2.Message{Body: []byte("m")}}}); err != nil {
		return err
	}
	return stream.Send(&v2.ReceiveMessageResponse{Content: &v2.ReceiveMessageResponse_Status{Status: f.named()}})
}

// Telemetry answers every command with the node's name, until the client ends the stream.
func (f *fakeNode) Telemetry(stream grpc.BidiStreamingServer[v2.TelemetryCommand, v2.TelemetryCommand]) error {
	for {
		if _, err := stream.Recv(); err != nil {
			return nil
		}
		if err := stream.Send(&v2.TelemetryCommand{Status: f.named()}); err != nil {
			return err
		}
	}
}

func startFakeNode(t *testing.T, name string, log *callLog) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			log.add(ctx, info.FullMethod, name)
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			log.add(ss.Context(), info.FullMethod, name)
			return h(srv, ss)
		}),
	)
	v2.RegisterMessagingServiceServer(srv, &fakeNode{name: name})
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return l.Addr().String()
}

// role is the compose service a fake node stands for.
func role(node string) string { return strings.TrimSuffix(strings.TrimSuffix(node, "-a"), "-b") }

// TestNginxLiveGRPC runs the gateway under a local nginx with fake gRPC nodes behind
// it (two ingest nodes, one reader) and makes real gRPC calls through its plaintext
// HTTP/2 port: every RPC of the protocol reaches a node of the role the routing
// contract names, one client's Telemetry stream, Heartbeats and termination reach one
// ingest node, and an unknown method is refused with UNIMPLEMENTED by nginx itself.
func TestNginxLiveGRPC(t *testing.T) {
	nginx := nginxBinary(t)
	log := &callLog{}
	gw := startGateway(t, nginx, map[string][]string{
		"ingest:8081": {startFakeNode(t, "ingest-a", log), startFakeNode(t, "ingest-b", log)},
		"reader:8081": {startFakeNode(t, "reader", log)},
		// The HTTP API is not called here.
		"ingest:8080": {"127.0.0.1:1"},
		"reader:8080": {"127.0.0.1:1"},
	})

	conn, err := grpc.NewClient(gw.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	rmq := v2.NewMessagingServiceClient(conn)
	withClient := func(id string) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		return metadata.AppendToOutgoingContext(ctx, "x-mq-client-id", id), cancel
	}

	t.Run("every RPC reaches its role", func(t *testing.T) {
		streams := map[string]grpc.StreamDesc{}
		for _, s := range v2.MessagingService_ServiceDesc.Streams {
			streams[s.StreamName] = s
		}
		for _, method := range grpcMethods(t) {
			ctx, cancel := withClient("probe")
			full := "/" + grpcService + "/" + method
			var err error
			if desc, ok := streams[method]; ok {
				err = callStream(ctx, conn, &desc, full)
			} else {
				err = conn.Invoke(ctx, full, &emptypb.Empty{}, &emptypb.Empty{})
			}
			cancel()
			// The fakes answer what they do not implement with UNIMPLEMENTED, as
			// nginx does for a method it does not route: the log tells them apart.
			if err != nil {
				require.Equal(t, codes.Unimplemented, status.Code(err), "%s: %v", method, err)
			}
			calls := log.take()
			require.Len(t, calls, 1, "%s: calls seen by the nodes: %v", method, calls)
			require.Equal(t, method, calls[0].method)
			require.Contains(t, grpcRoutes[method].want, role(calls[0].node), "%s reached %s", method, calls[0].node)
			require.Equal(t, "probe", calls[0].clientID, "%s: the client id header must reach the node", method)
		}
	})

	t.Run("unknown method", func(t *testing.T) {
		ctx, cancel := withClient("probe")
		defer cancel()
		err := conn.Invoke(ctx, "/"+grpcService+"/NoSuchMethod", &emptypb.Empty{}, &emptypb.Empty{})
		require.Equal(t, codes.Unimplemented, status.Code(err), "%v", err)
		require.Contains(t, status.Convert(err).Message(), "not routed by the Floe gateway")
		require.Empty(t, log.take(), "an unknown method must not reach a node")
	})

	t.Run("SendMessage to ingest, ReceiveMessage to reader", func(t *testing.T) {
		sentTo := map[string]bool{}
		for i := range 6 {
			ctx, cancel := withClient("producer")
			resp, err := rmq.SendMessage(ctx, &v2.SendMessageRequest{})
			cancel()
			require.NoError(t, err, "send %d", i)
			require.Equal(t, "ingest", role(resp.GetStatus().GetMessage()))
			sentTo[resp.GetStatus().GetMessage()] = true
		}
		require.Len(t, sentTo, 2, "sends are spread over the ingest nodes, not pinned to one")

		ctx, cancel := withClient("consumer")
		defer cancel()
		stream, err := rmq.ReceiveMessage(ctx, &v2.ReceiveMessageRequest{})
		require.NoError(t, err)
		var bodies int
		var node string
		for {
			resp, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			if m := resp.GetMessage(); m != nil {
				bodies++
			}
			if st := resp.GetStatus(); st != nil {
				node = st.GetMessage()
			}
		}
		require.Equal(t, 1, bodies)
		require.Equal(t, "reader", node)
		log.take()
	})

	t.Run("one client's Telemetry and Heartbeat reach one ingest node", func(t *testing.T) {
		used := map[string]bool{}
		for i := range 24 {
			id := fmt.Sprintf("10.0.0.%d@%d#producer", i, 1000+i)
			ctx, cancel := withClient(id)
			tel, err := rmq.Telemetry(ctx)
			require.NoError(t, err)
			require.NoError(t, tel.Send(&v2.TelemetryCommand{}))
			reply, err := tel.Recv()
			require.NoError(t, err, "client %s: telemetry", id)
			node := reply.GetStatus().GetMessage()
			require.Equal(t, "ingest", role(node), "client %s: telemetry reached %s", id, node)
			used[node] = true

			// Heartbeats while the stream is open, and the settings sent again on it.
			for range 3 {
				hb, err := rmq.Heartbeat(ctx, &v2.HeartbeatRequest{})
				require.NoError(t, err)
				require.Equal(t, node, hb.GetStatus().GetMessage(), "client %s: heartbeat", id)
			}
			require.NoError(t, tel.Send(&v2.TelemetryCommand{}))
			reply, err = tel.Recv()
			require.NoError(t, err)
			require.Equal(t, node, reply.GetStatus().GetMessage())

			_, err = rmq.NotifyClientTermination(ctx, &v2.NotifyClientTerminationRequest{})
			require.Equal(t, codes.Unimplemented, status.Code(err))
			require.NoError(t, tel.CloseSend())
			_, err = tel.Recv()
			require.ErrorIs(t, err, io.EOF)
			cancel()

			for _, c := range log.take() {
				require.Equal(t, id, c.clientID)
				require.Equal(t, node, c.node, "client %s: %s reached another node than its telemetry", id, c.method)
			}
		}
		// Otherwise the check above would hold with a single node.
		require.Len(t, used, 2, "clients are spread over the ingest nodes by their id")
	})
}

// callStream opens a stream, sends one empty message and reads until the end.
func callStream(ctx context.Context, conn *grpc.ClientConn, desc *grpc.StreamDesc, method string) error {
	s, err := conn.NewStream(ctx, desc, method)
	if err != nil {
		return err
	}
	if err := s.SendMsg(&emptypb.Empty{}); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if err := s.CloseSend(); err != nil {
		return err
	}
	for {
		if err := s.RecvMsg(&emptypb.Empty{}); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}
