package seal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
)

// TopicFiling is the outbox topic of filing records (备案, R-SEAL-3).
const TopicFiling = "seal.filing"

// MarkFiled records, in st's transaction, that the upstream platform took
// the filing record of the given making of a seal: the seal becomes filed,
// with a seal event and an audit entry by "system". It is idempotent, and
// the record of an older making never files a seal that was renewed since:
// the newer making's record is still on its way.
func (s *Service) MarkFiled(ctx context.Context, st Tx, sealCode string, making int) error {
	x, err := st.GetSeal(ctx, sealCode)
	if errors.Is(err, apperr.NotFound) {
		return apperr.New(apperr.NotFound, "no seal has code %s", sealCode)
	}
	if err != nil {
		return err
	}
	makings, err := st.ListMakings(ctx, x.ID)
	if err != nil {
		return err
	}
	if making > len(makings) {
		return apperr.New(apperr.Conflict, "seal %s has %d makings; a filing record names making %d", x.ID, len(makings), making)
	}
	if making < len(makings) || x.FilingState == FilingFiled {
		return nil // superseded by a later making, or filed already
	}
	x.FilingState, x.Version, x.UpdatedAt = FilingFiled, x.Version+1, s.now()
	if err := st.UpdateSeal(ctx, x); err != nil {
		return err
	}
	return s.filedEvent(ctx, st, x, making)
}

// filedEvent records the filing as a seal event and in the audit log.
func (s *Service) filedEvent(ctx context.Context, st Tx, x Seal, making int) error {
	id, err := s.newID("sev")
	if err != nil {
		return err
	}
	reason := "making " + strconv.Itoa(making) + " filed with the upstream platform"
	if err := st.InsertSealEvent(ctx, Event{ID: id, SealID: x.ID, At: s.clock(), Actor: "system", Action: "filed", State: x.State, Reason: reason}); err != nil {
		return err
	}
	return s.audit(ctx, st, "system", "seal.filed", x, map[string]string{"making": strconv.Itoa(making)})
}

// FilingDelivered is MarkFiled for the payload of a TopicFiling event; the
// notify worker calls it when the upstream sink took the event.
func (s *Service) FilingDelivered(ctx context.Context, st Tx, payload []byte) error {
	var f filing
	if err := json.Unmarshal(payload, &f); err != nil {
		return fmt.Errorf("filing record: %w", err)
	}
	if f.SealCode == "" || f.Making < 1 {
		return fmt.Errorf("filing record without seal_code or making")
	}
	return s.MarkFiled(ctx, st, f.SealCode, f.Making)
}
