package importer

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// spool keeps an uploaded file in a temporary file while it is checked,
// in chunks sealed (AES-GCM) under a key that lives only in memory: the
// file holds citizens' identifiers, and a temporary file left behind by a
// crash must not show them.
type spool struct {
	f    *os.File
	aead cipher.AEAD
	size int64
	// chunks is how many sealed chunks the file holds.
	chunks int
	buf    []byte
	chunk  int
}

func newSpool(dir string, chunk int) (*spool, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("spool key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "zhengzhao-import-*")
	if err != nil {
		return nil, fmt.Errorf("spool the upload: %w", err)
	}
	// Unlinked at once where the system allows it: nothing outlives the
	// process, which reads the file through its open handle.
	_ = os.Remove(f.Name())
	return &spool{f: f, aead: aead, chunk: chunk, buf: make([]byte, 0, chunk)}, nil
}

// Write appends p to the spooled file.
func (s *spool) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), s.chunk-len(s.buf))
		s.buf = append(s.buf, p[:k]...)
		p = p[k:]
		if len(s.buf) == s.chunk {
			if err := s.flush(); err != nil {
				return 0, err
			}
		}
	}
	s.size += int64(n)
	return n, nil
}

// flush seals the buffered bytes as the next chunk: its sequence number
// is the nonce's and bound as additional data, so chunks cannot be
// reordered.
func (s *spool) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	nonce := make([]byte, s.aead.NonceSize())
	binary.BigEndian.PutUint64(nonce[len(nonce)-8:], uint64(s.chunks)) // #nosec G115 -- chunks >= 0
	sealed := s.aead.Seal(nil, nonce, s.buf, nil)
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(sealed))) // #nosec G115 -- at most a chunk and the tag
	if _, err := s.f.Write(n[:]); err != nil {
		return fmt.Errorf("spool the upload: %w", err)
	}
	if _, err := s.f.Write(sealed); err != nil {
		return fmt.Errorf("spool the upload: %w", err)
	}
	s.chunks++
	s.buf = s.buf[:0]
	return nil
}

// finish writes the last chunk; the spool is then read with chunks or
// reader.
func (s *spool) finish() error { return s.flush() }

// chunks returns a function yielding the file's chunks in order from the
// start, nil after the last.
func (s *spool) next() (func() ([]byte, error), error) {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	seq := 0
	var n [4]byte
	return func() ([]byte, error) {
		if _, err := io.ReadFull(s.f, n[:]); errors.Is(err, io.EOF) {
			return nil, nil
		} else if err != nil {
			return nil, fmt.Errorf("read the spooled upload: %w", err)
		}
		sealed := make([]byte, binary.BigEndian.Uint32(n[:]))
		if _, err := io.ReadFull(s.f, sealed); err != nil {
			return nil, fmt.Errorf("read the spooled upload: %w", err)
		}
		nonce := make([]byte, s.aead.NonceSize())
		binary.BigEndian.PutUint64(nonce[len(nonce)-8:], uint64(seq)) // #nosec G115 -- seq >= 0
		seq++
		plain, err := s.aead.Open(sealed[:0], nonce, sealed, nil)
		if err != nil {
			return nil, fmt.Errorf("read the spooled upload: %w", err)
		}
		return plain, nil
	}, nil
}

func (s *spool) Close() error { return s.f.Close() }

// chunkReader reads the bytes of a sequence of chunks.
type chunkReader struct {
	next func() ([]byte, error)
	cur  []byte
	done bool
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.done {
			return 0, io.EOF
		}
		c, err := r.next()
		if err != nil {
			return 0, err
		}
		if c == nil {
			r.done = true
			continue
		}
		r.cur = c
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}
