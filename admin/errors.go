package admin

import (
	"errors"

	"github.com/floemq/floe/domain"
	"github.com/floemq/floe/metadata"
)

// StoreError is the failure of a metadata store call: ErrTopicNotFound for a missing
// resource, ErrQuotaExceeded for a create over a namespace quota, else ErrUnavailable.
func StoreError(err error) error {
	if errors.Is(err, metadata.ErrNotFound) {
		return domain.Errorf(domain.ErrTopicNotFound, "%v", err)
	}
	if errors.Is(err, metadata.ErrQuotaExceeded) {
		return quotaErr(err)
	}
	return domain.Errorf(domain.ErrUnavailable, "metadata store: %v", err)
}

// quotaErr is the failure of a create refused by a namespace quota (metadata.QuotaError).
func quotaErr(err error) error {
	var qe *metadata.QuotaError
	if !errors.As(err, &qe) {
		return StoreError(err)
	}
	return domain.QuotaExceeded(qe.Resource, qe.Limit)
}

// GroupError is StoreError for a call about a group: a missing one is ErrGroupNotFound.
func GroupError(err error) error {
	if errors.Is(err, metadata.ErrNotFound) {
		return domain.Errorf(domain.ErrGroupNotFound, "%v", err)
	}
	return StoreError(err)
}
