package platform

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/apperr"
	"github.com/zhengzhao/zhengzhao/internal/auditlog"
	"github.com/zhengzhao/zhengzhao/internal/store"
)

// publicURLSetting names the stored public base URL.
const publicURLSetting = "public_url"

// PublicURL is what a process knows of its public base URL before the
// store is consulted.
type PublicURL struct {
	// Flag is --public-url; "" when not given.
	Flag string
	// Derived is http(s)://ADDR of a process that serves; "" for a
	// command that serves nothing.
	Derived string
	// Demo: the demo serves its data at Derived, whatever was stored.
	Demo bool
}

// ResolvePublicURL returns the public base URL a process names status
// lists by, which signed licenses carry for good: the flag, else the one
// stored, else the address a server listens on, else DefaultPublicURL. A
// serving process given the flag, and the demo, store theirs (audited), so
// that commands on the platform's host issue, change and export licenses
// naming the lists where the platform publishes them.
func ResolvePublicURL(ctx context.Context, db *store.DB, p PublicURL, now time.Time) (string, error) {
	stored, err := db.Setting(ctx, publicURLSetting)
	if errors.Is(err, apperr.NotFound) {
		stored, err = "", nil
	}
	if err != nil {
		return "", err
	}
	var url string
	switch {
	case p.Flag != "" && p.Derived != "":
		url = p.Flag
	case p.Flag != "":
		return strings.TrimSuffix(p.Flag, "/"), nil
	case p.Demo && p.Derived != "":
		url = p.Derived
	case stored != "":
		return stored, nil
	case p.Derived != "":
		return p.Derived, nil
	default:
		return DefaultPublicURL, nil
	}
	url = strings.TrimSuffix(url, "/")
	if url == stored {
		return url, nil
	}
	err = db.WithTx(ctx, func(tx *store.Tx) error {
		// Decided again in the transaction: another process may have
		// stored the same URL meanwhile.
		cur, err := tx.Setting(ctx, publicURLSetting)
		if err == nil && cur == url {
			return nil
		}
		if err != nil && !errors.Is(err, apperr.NotFound) {
			return err
		}
		if err := tx.PutSetting(ctx, publicURLSetting, url, now); err != nil {
			return err
		}
		return auditlog.Append(ctx, tx, auditlog.Entry{At: now, Actor: auditlog.Operator, Action: "platform.public-url", Subject: url,
			Details: map[string]string{"previous": cur}})
	})
	if err != nil {
		return "", err
	}
	return url, nil
}
