package platform_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/zhengzhao/zhengzhao/internal/platform"
	"github.com/zhengzhao/zhengzhao/internal/store"
	"github.com/zhengzhao/zhengzhao/internal/store/storetest"
)

// TestResolvePublicURL: the flag of a serving process and the demo's
// address are stored (once, audited); a command that serves nothing uses
// what is stored, else the default; a server without the flag uses what is
// stored, else its address.
func TestResolvePublicURL(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
		steps := []struct {
			name    string
			in      platform.PublicURL
			want    string
			entries int // audit entries about the setting so far
		}{
			{"a command before anything is stored", platform.PublicURL{}, platform.DefaultPublicURL, 0},
			{"a server without the flag", platform.PublicURL{Derived: "http://127.0.0.1:9000"}, "http://127.0.0.1:9000", 0},
			{"a command's flag is not stored", platform.PublicURL{Flag: "https://x.example/"}, "https://x.example", 0},
			{"the demo stores its address", platform.PublicURL{Derived: "http://127.0.0.1:41234", Demo: true}, "http://127.0.0.1:41234", 1},
			{"a command uses it", platform.PublicURL{}, "http://127.0.0.1:41234", 1},
			{"a server's flag replaces it", platform.PublicURL{Flag: "https://zz.example.gov.cn/", Derived: "https://zz.example.gov.cn"},
				"https://zz.example.gov.cn", 2},
			{"the same flag again writes nothing", platform.PublicURL{Flag: "https://zz.example.gov.cn", Derived: "https://zz.example.gov.cn"},
				"https://zz.example.gov.cn", 2},
			{"a server without the flag keeps it", platform.PublicURL{Derived: "http://10.0.0.5:8080"}, "https://zz.example.gov.cn", 2},
			{"so does a command", platform.PublicURL{}, "https://zz.example.gov.cn", 2},
		}
		for _, s := range steps {
			got, err := platform.ResolvePublicURL(ctx, db, s.in, now)
			if err != nil || got != s.want {
				t.Fatalf("%s: %q, %v; want %q", s.name, got, err, s.want)
			}
			if n := settingEntries(t, db); n != s.entries {
				t.Fatalf("%s: %d audit entries about the public URL, want %d", s.name, n, s.entries)
			}
		}

		// Servers starting at once with the same new flag: all agree, and
		// the change is recorded at least once and never fails.
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 16 {
			wg.Go(func() {
				got, err := platform.ResolvePublicURL(ctx, db, platform.PublicURL{Flag: "https://new.example", Derived: "https://new.example"}, now)
				if err == nil && got != "https://new.example" {
					t.Errorf("resolved %q", got)
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got, err := platform.ResolvePublicURL(ctx, db, platform.PublicURL{}, now); err != nil || got != "https://new.example" {
			t.Fatalf("after the concurrent starts a command resolves %q, %v", got, err)
		}
	})
}

// settingEntries counts the audit entries (pending ones included) that
// record a change of the public URL.
func settingEntries(t *testing.T, db *store.DB) int {
	t.Helper()
	pending, err := db.AuditPending(context.Background(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range pending {
		if e.Action == "platform.public-url" {
			n++
		}
	}
	return n
}
