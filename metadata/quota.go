package metadata

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/floemq/floe/namespace"
)

// Quotas bound how many resources one namespace may hold; 0 is unlimited. They are
// checked in the transaction that creates a resource, under a per-namespace advisory lock,
// so concurrent creates cannot pass a limit together and a refused create stores nothing.
// System resources (dead-letter topics, the trace topic) are not counted.
type Quotas struct {
	// Topics per namespace.
	Topics int
	// Groups is consumer groups per namespace.
	Groups int
	// LiteTopics per namespace: lite topics that exist (created by a first message), over
	// all LITE topics of the namespace.
	LiteTopics int
}

// Resources a quota counts, as named in QuotaError and the metric label.
const (
	QuotaTopics     = "topics"
	QuotaGroups     = "groups"
	QuotaLiteTopics = "lite_topics"
)

// ErrQuotaExceeded is returned (wrapped in a *QuotaError) when a create would take a
// namespace past one of its Quotas.
var ErrQuotaExceeded = errors.New("quota exceeded")

// QuotaError says which limit a create would have passed.
type QuotaError struct {
	Resource  string // QuotaTopics, QuotaGroups or QuotaLiteTopics
	Namespace string
	Limit     int
}

func (e *QuotaError) Error() string {
	ns := e.Namespace
	if ns == "" {
		ns = "(default)"
	}
	return fmt.Sprintf("namespace %s already holds its limit of %d %s", ns, e.Limit, e.Resource)
}

// Is makes errors.Is(err, ErrQuotaExceeded) hold.
func (e *QuotaError) Is(target error) bool { return target == ErrQuotaExceeded }

// inNamespaceSQL is a condition on a stored topic or group name column: it belongs to
// namespace $1 and is no system name. For the default namespace that is a name without
// '%'; for namespace ns, a name starting with "ns%".
func inNamespaceSQL(column string) string {
	return fmt.Sprintf(`(CASE WHEN $1::text = '' THEN strpos(%[1]s, '%%') = 0 ELSE starts_with(%[1]s, $1::text || '%%') END)`, column)
}

// lockQuota serializes, until tx ends, the creates that count against one namespace's
// quota of resource.
func lockQuota(ctx context.Context, tx pgx.Tx, resource, ns string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "floe.quota."+resource+":"+ns); err != nil {
		return fmt.Errorf("locking the %s quota of namespace %q: %w", resource, ns, err)
	}
	return nil
}

// checkCountQuota refuses the creation of the named topic or group (table topics or
// consumer_groups) when its namespace holds limit of them already. A name that exists
// passes: creating it again changes nothing.
func (s *Store) checkCountQuota(ctx context.Context, tx pgx.Tx, resource, table, name string, limit int) error {
	if limit <= 0 {
		return nil
	}
	ns := namespace.Of(name)
	if err := lockQuota(ctx, tx, resource, ns); err != nil {
		return err
	}
	var exists bool
	var count int
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE name = $2),
		(SELECT count(*) FROM `+table+` WHERE `+inNamespaceSQL("name")+`)`, ns, name).Scan(&exists, &count)
	if err != nil {
		return fmt.Errorf("counting %s of namespace %q: %w", resource, ns, err)
	}
	if !exists && count >= limit {
		s.quotaExceeded.WithLabelValues(resource).Inc()
		return &QuotaError{Resource: resource, Namespace: ns, Limit: limit}
	}
	return nil
}

// checkLiteQuota refuses creating the lite topics of lites that do not exist yet when the
// namespace of topic would then hold more than the limit.
func (s *Store) checkLiteQuota(ctx context.Context, tx pgx.Tx, topic string, lites []string) error {
	limit := s.quotas.LiteTopics
	if limit <= 0 {
		return nil
	}
	ns := namespace.Of(topic)
	if err := lockQuota(ctx, tx, QuotaLiteTopics, ns); err != nil {
		return err
	}
	var missing, count int
	err := tx.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM unnest($2::text[]) AS l WHERE NOT EXISTS
			(SELECT 1 FROM queues q WHERE q.topic = $3 AND q.queue_id = 0 AND q.lite_topic = l)),
		(SELECT count(*) FROM queues WHERE lite_topic <> '' AND `+inNamespaceSQL("topic")+`)`,
		ns, lites, topic).Scan(&missing, &count)
	if err != nil {
		return fmt.Errorf("counting lite topics of namespace %q: %w", ns, err)
	}
	if missing > 0 && count+missing > limit {
		s.quotaExceeded.WithLabelValues(QuotaLiteTopics).Inc()
		return &QuotaError{Resource: QuotaLiteTopics, Namespace: ns, Limit: limit}
	}
	return nil
}
