package grpcapi

import (
	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
	"google.golang.org/grpc"
)

// fakeStream stands for an open telemetry stream.
type fakeStream struct {
	grpc.BidiStreamingServer[v2.TelemetryCommand, v2.TelemetryCommand]
}
