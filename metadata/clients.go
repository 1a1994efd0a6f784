package metadata

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Kinds of clients_seen rows.
const (
	ClientsOfGroup = "group" // consumers of a consumer group
	ClientsOfTopic = "topic" // producers of a topic
)

// ClientsRow is one node's published list of the clients of one group or topic.
type ClientsRow struct {
	Node string
	Kind string // ClientsOfGroup or ClientsOfTopic
	Name string // stored name of the group or topic
	// Clients is the JSON array the node published.
	Clients   json.RawMessage
	UpdatedAt time.Time
}

// ClientsPublish replaces node's rows for the groups and topics in rows (one statement)
// and deletes every node's rows older than forgetBefore (nodes that went away, groups no
// longer consumed).
func (s *Store) ClientsPublish(ctx context.Context, node string, rows []ClientsRow, forgetBefore time.Time) error {
	kinds := make([]string, len(rows))
	names := make([]string, len(rows))
	lists := make([]string, len(rows))
	for i, r := range rows {
		kinds[i], names[i], lists[i] = r.Kind, r.Name, string(r.Clients)
	}
	return s.observe("clients_publish", func() error {
		if len(rows) > 0 {
			_, err := s.pool.Exec(ctx, `INSERT INTO clients_seen (node, kind, name, clients, updated_at)
				SELECT $1, k, n, c::jsonb, now() FROM unnest($2::text[], $3::text[], $4::text[]) AS r (k, n, c)
				ON CONFLICT (kind, name, node) DO UPDATE SET clients = EXCLUDED.clients, updated_at = EXCLUDED.updated_at`,
				node, kinds, names, lists)
			if err != nil {
				return fmt.Errorf("publishing the clients of node %s: %w", node, err)
			}
		}
		if _, err := s.pool.Exec(ctx, `DELETE FROM clients_seen WHERE updated_at < $1`, forgetBefore); err != nil {
			return fmt.Errorf("forgetting old client lists: %w", err)
		}
		return nil
	})
}

// ClientsList returns every node's rows for one group or topic updated since since.
func (s *Store) ClientsList(ctx context.Context, kind, name string, since time.Time) ([]ClientsRow, error) {
	var out []ClientsRow
	err := s.observe("clients_list", func() error {
		rows, err := s.pool.Query(ctx, `SELECT node, clients, updated_at FROM clients_seen
			WHERE kind = $1 AND name = $2 AND updated_at >= $3 ORDER BY node`, kind, name, since)
		if err != nil {
			return fmt.Errorf("listing the clients of %s %s: %w", kind, name, err)
		}
		defer rows.Close()
		for rows.Next() {
			r := ClientsRow{Kind: kind, Name: name}
			if err := rows.Scan(&r.Node, &r.Clients, &r.UpdatedAt); err != nil {
				return fmt.Errorf("reading the clients of %s %s: %w", kind, name, err)
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}
