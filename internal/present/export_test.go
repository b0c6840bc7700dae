package present

import (
	"context"

	"github.com/zhengzhao/zhengzhao/internal/auditlog"
)

// Batch runs a job of decide and record through the service's group
// commit, as Redeem does.
func (s *Service) Batch(ctx context.Context, decide func(ctx context.Context, tx Tx) (*Claim, error), record func(claimed, fresh bool) auditlog.Entry) error {
	return s.batch.do(ctx, &job{decide: decide, record: record})
}
