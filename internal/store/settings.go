package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
)

// Setting returns the value of the platform setting name; NotFound when it
// was never set.
func (h handle) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := h.queryRow(ctx, `SELECT value FROM platform_settings WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", apperr.New(apperr.NotFound, "platform setting %s is not set", name)
	}
	if err != nil {
		return "", fmt.Errorf("read platform setting %s: %w", name, mapErr(err))
	}
	return v, nil
}

// PutSetting sets the platform setting name to value.
func (tx *Tx) PutSetting(ctx context.Context, name, value string, at time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO platform_settings (name, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, name, value, micros(at))
	if err != nil {
		return fmt.Errorf("set platform setting %s: %w", name, err)
	}
	return nil
}
