package services

import (
	"crypto/rand"
	"encoding/hex"
	"os"

	"github.com/floemq/floe/presence"
)

// startClients publishes the clients this node sees (HTTP consumers on the reader role,
// RocketMQ clients on the gRPC listener) to Postgres, where any node's admin routes read
// them.
func (n *Node) startClients() error {
	if n.consumer == nil && n.grpc == nil {
		return nil
	}
	node := n.cfg.NodeID
	if node == "" {
		// Several nodes may share a host name (tests, one host running two): a random
		// suffix keeps their rows apart.
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		node = host + "-" + hex.EncodeToString(b)
	}
	p, err := presence.NewPublisher(presence.PublisherConfig{Node: node, Interval: n.cfg.ClientsInterval,
		Logger: n.logger.With("component", "clients")}, n.clients, n.store, n.registry)
	if err != nil {
		return err
	}
	p.Start()
	n.clientsPub = p
	return nil
}
