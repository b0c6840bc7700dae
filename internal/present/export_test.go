package present

import "context"

// Batch runs run through the service's group commit, as Redeem does.
func (s *Service) Batch(ctx context.Context, run func(ctx context.Context, tx Tx) error) error {
	return s.batch.do(ctx, &job{run: run})
}
