// Package canon produces canonical bytes for signing.
//
// A signature covers bytes, not values: two services that serialise the same
// licence differently would disagree on whether its signature is valid. This
// package fixes one serialisation, the JSON Canonicalization Scheme of
// RFC 8785 (JCS): object members sorted by their UTF-16 code units, no
// insignificant white space, minimal string escaping and ECMAScript number
// formatting. Every signed JSON document in zhengzhao goes through JSON or
// Transform before it is signed or verified.
//
// Numbers are IEEE-754 doubles, as RFC 8785 (I-JSON) requires: integers with
// a magnitude above 2^53 cannot be represented exactly and are rounded.
// Encode identifiers and amounts that may exceed 2^53 as JSON strings.
package canon

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/gowebpki/jcs"
)

// ErrInvalidJSON is returned (wrapped) when the input is not a single valid
// JSON text or a value cannot be encoded as JSON. Callers treat it as bad
// input; nothing should be signed.
var ErrInvalidJSON = errors.New("canon: invalid JSON")

// JSON returns the RFC 8785 canonical JSON encoding of v: v is marshalled
// with encoding/json (so struct tags and json.Marshaler apply) and the
// result is canonicalized by Transform. Values encoding/json refuses, such
// as NaN, infinities, channels or functions, give an error wrapping
// ErrInvalidJSON.
func JSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("canonical JSON of %T: %w: %w", v, ErrInvalidJSON, err)
	}
	out, err := Transform(raw)
	if err != nil {
		return nil, fmt.Errorf("canonical JSON of %T: %w", v, err)
	}
	return out, nil
}

// Transform canonicalizes the JSON text raw according to RFC 8785. raw must
// be one valid UTF-8 JSON text, optionally surrounded by white space; any
// other input gives an error wrapping ErrInvalidJSON. Duplicate object member
// names and lone UTF-16 surrogates ("\ud800") are rejected, as RFC 8785
// (I-JSON, RFC 7493) requires.
//
// Canonicalizing an object costs O(n²) in its number of members; bound the
// size of untrusted input before calling Transform.
func Transform(raw []byte) ([]byte, error) {
	// The jcs parser is lenient about some malformed input (and does not
	// reject duplicate names), so validate strictly first.
	if !utf8.Valid(raw) {
		return nil, fmt.Errorf("canonicalize: %w: not valid UTF-8", ErrInvalidJSON)
	}
	if !json.Valid(raw) {
		return nil, fmt.Errorf("canonicalize: %w: syntax error", ErrInvalidJSON)
	}
	if err := checkSurrogates(raw); err != nil {
		return nil, fmt.Errorf("canonicalize: %w: %w", ErrInvalidJSON, err)
	}
	if err := checkDuplicateNames(raw); err != nil {
		return nil, fmt.Errorf("canonicalize: %w: %w", ErrInvalidJSON, err)
	}
	out, err := jcs.Transform(raw)
	if err != nil {
		return nil, fmt.Errorf("canonicalize: %w: %w", ErrInvalidJSON, err)
	}
	return out, nil
}
