package admin

import (
	"context"
	"errors"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
)

// TransactionResolve commits (commit true) or rolls back a transaction's half messages
// and returns its state. visible, when not nil, says whether the caller may see a
// transaction of a topic (its stored name): one it may not see is ErrTransactionNotFound,
// as if it did not exist. A transaction resolved the other way before is
// ErrTransactionResolved; resolving it the same way again is a no-op.
func (s *Service) TransactionResolve(ctx context.Context, id string, commit bool, visible func(topic string) bool) (string, error) {
	if visible != nil {
		_, topic, err := s.store.TransactionGet(ctx, id)
		if err == nil && !visible(topic) {
			err = metadata.ErrNotFound
		}
		if errors.Is(err, metadata.ErrNotFound) {
			return "", domain.Errorf(domain.ErrTransactionNotFound, "no transaction %s", id)
		}
		if err != nil {
			return "", domain.Errorf(domain.ErrUnavailable, "reading transaction %s: %v", id, err)
		}
	}
	state, err := s.store.TransactionResolve(ctx, id, commit)
	switch {
	case errors.Is(err, metadata.ErrNotFound):
		return "", domain.Errorf(domain.ErrTransactionNotFound, "no transaction %s", id)
	case errors.Is(err, metadata.ErrTransactionResolved):
		return "", domain.Errorf(domain.ErrTransactionResolved, "transaction %s was already resolved the other way", id)
	case err != nil:
		return "", domain.Errorf(domain.ErrUnavailable, "resolving transaction %s: %v", id, err)
	}
	return state, nil
}
