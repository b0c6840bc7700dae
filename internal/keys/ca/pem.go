package ca

import (
	"bytes"
	"encoding/pem"
	"fmt"

	"github.com/emmansun/gmsm/smx509"
)

// pemCertificate is the PEM block type of an X.509 certificate (RFC 7468).
const pemCertificate = "CERTIFICATE"

// EncodePEM returns certs as concatenated PEM "CERTIFICATE" blocks, in
// order. Nil or unparsed certificates (without Raw DER) are skipped.
func EncodePEM(certs ...*smx509.Certificate) []byte {
	var buf bytes.Buffer
	for _, c := range certs {
		if c == nil || len(c.Raw) == 0 {
			continue
		}
		// Writing to a bytes.Buffer cannot fail and the block has no headers.
		_ = pem.Encode(&buf, &pem.Block{Type: pemCertificate, Bytes: c.Raw})
	}
	return buf.Bytes()
}

// ParsePEM parses one or more PEM "CERTIFICATE" blocks, in order. Text
// between blocks is ignored, but a block of another type, a block with
// headers, a block that does not decode (for example a truncated one), DER
// that is not exactly one certificate, or input without certificates gives
// an error wrapping ErrMalformed. It never panics.
func ParsePEM(data []byte) ([]*smx509.Certificate, error) {
	var certs []*smx509.Certificate
	begins := bytes.Count(data, []byte("-----BEGIN"))
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		n := len(certs) + 1
		if block.Type != pemCertificate {
			return nil, fmt.Errorf("parse PEM: %w: block %d is %q, want %q", ErrMalformed, n, block.Type, pemCertificate)
		}
		if len(block.Headers) != 0 {
			return nil, fmt.Errorf("parse PEM: %w: block %d has headers", ErrMalformed, n)
		}
		c, err := ParseDER(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse PEM block %d: %w", n, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("parse PEM: %w: no certificate block found", ErrMalformed)
	}
	// pem.Decode silently skips blocks it cannot decode; refuse to drop a
	// certificate of the chain that way.
	if begins != len(certs) {
		return nil, fmt.Errorf("parse PEM: %w: %d BEGIN lines but %d decodable blocks (truncated or corrupted block)", ErrMalformed, begins, len(certs))
	}
	return certs, nil
}

// ParseDER parses exactly one DER-encoded certificate. Malformed input,
// including trailing bytes, gives an error wrapping ErrMalformed; it never
// panics.
func ParseDER(der []byte) (*smx509.Certificate, error) {
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate DER (%d bytes): %w: %v", len(der), ErrMalformed, err)
	}
	return c, nil
}
