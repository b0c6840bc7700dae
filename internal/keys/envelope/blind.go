package envelope

import (
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm3"
)

// BlindIndexKeySize is the length in bytes of a blind index key.
const BlindIndexKeySize = 32

// BlindIndexKey derives the key of the blind index named purpose (for
// example "citizen_id") from m with HKDF-SM3. Each purpose gets an
// independent key, so equal values in two indexed columns do not share an
// index value. It fails only for an empty purpose or if HKDF is unavailable
// (GODEBUG=fips140=only).
func (m *MasterKey) BlindIndexKey(purpose string) ([]byte, error) {
	if purpose == "" {
		return nil, errors.New("blind index key: empty purpose")
	}
	k, err := m.deriveKey("blind-index/"+purpose, BlindIndexKeySize)
	if err != nil {
		return nil, fmt.Errorf("blind index key for %q: %w", purpose, err)
	}
	return k, nil
}

// BlindIndex returns the lower-case hex HMAC-SM3 of normalized under key, for
// equality lookups on an encrypted column. The caller normalizes the value
// first (for example trims and upper-cases a citizen ID) so that equal
// values index equally. An index reveals which rows share a value; use it
// only for columns where that is acceptable.
func BlindIndex(key []byte, normalized string) string {
	mac := hmac.New(sm3.New, key)
	mac.Write([]byte(normalized))
	return hex.EncodeToString(mac.Sum(nil))
}
