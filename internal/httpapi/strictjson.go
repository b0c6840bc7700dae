package httpapi

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
)

// strictJSON is huma's JSON format but for bodies that are not valid
// UTF-8, which it refuses: encoding/json would silently turn each bad byte
// into U+FFFD and store text nobody sent. The message starts with the
// prefix humaRules maps to the rule utf8.
var strictJSON = huma.Format{
	Marshal: huma.DefaultJSONFormat.Marshal,
	Unmarshal: func(data []byte, v any) error {
		if !utf8.Valid(data) {
			return fmt.Errorf("invalid UTF-8 in the body at byte %d", firstInvalidUTF8(data))
		}
		return json.Unmarshal(data, v)
	},
}

// firstInvalidUTF8 returns the offset of the first byte of data that does
// not start a valid UTF-8 sequence.
func firstInvalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(data)
}
