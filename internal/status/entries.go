package status

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/zhengzhao/zhengzhao/internal/codec/statuslist"
)

// URL returns the address at which the list credential of r for purpose p
// is published, below the platform's public base URL:
// {base}/status/v1/{issuer}/{number}/{purpose} (docs/status-lists.md).
func (r ListRef) URL(base string, p statuslist.Purpose) string {
	return strings.TrimSuffix(base, "/") + "/status/v1/" + url.PathEscape(r.Issuer) + "/" + strconv.Itoa(r.Number) + "/" + string(p)
}

// ParseListURL is ListRef.URL backwards: the list and purpose of a URL at
// which this platform, at base, publishes a list of
// RevocationAndSuspension. ok is false for any other URL.
func ParseListURL(base, listURL string) (ref ListRef, p statuslist.Purpose, ok bool) {
	rest, found := strings.CutPrefix(listURL, strings.TrimSuffix(base, "/")+"/status/v1/")
	if !found {
		return ListRef{}, "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 {
		return ListRef{}, "", false
	}
	issuer, err := url.PathUnescape(parts[0])
	n, nerr := strconv.Atoi(parts[1])
	p = statuslist.Purpose(parts[2])
	ref = ListRef{Issuer: issuer, Purposes: RevocationAndSuspension, Number: n}
	if err != nil || nerr != nil || n < 1 || !slices.Contains(ref.Purposes.Purposes(), p) || ref.URL(base, p) != listURL {
		return ListRef{}, "", false
	}
	return ref, p, true
}

// Entries returns the credentialStatus of a license credential allocated
// slot: one BitstringStatusListEntry per purpose of its list, all with the
// same index.
func Entries(base string, slot Slot) ([]statuslist.Entry, error) {
	purposes := slot.List.Purposes.Purposes()
	if purposes == nil {
		return nil, fmt.Errorf("status entries: unknown purpose set %q", slot.List.Purposes)
	}
	out := make([]statuslist.Entry, 0, len(purposes))
	for _, p := range purposes {
		e, err := statuslist.NewEntry(slot.List.URL(base, p), p, slot.Index)
		if err != nil {
			return nil, fmt.Errorf("status entries: %w", err)
		}
		out = append(out, e)
	}
	return out, nil
}
