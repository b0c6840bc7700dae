package importer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// Format is the kind of an import file.
type Format string

// The formats.
const (
	CSV   Format = "csv"
	JSONL Format = "jsonl"
	XLSX  Format = "xlsx"
)

// Encoding is the character encoding of a text file (CSV, JSON Lines).
type Encoding string

// The encodings. Auto takes UTF-8 when the start of the file is valid
// UTF-8 (or opens with a byte order mark), else GB18030 when the start
// decodes as GB18030; Reader.Encoding says which was taken.
const (
	Auto    Encoding = ""
	UTF8    Encoding = "utf-8"
	GB18030 Encoding = "gb18030"
)

// ErrFile is wrapped by every error about the file as a whole: not of its
// format, binary, in an unknown encoding, cut off. The caller shows it and
// stops; no row of the file is used.
var ErrFile = errors.New("import file")

func fileErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFile, fmt.Sprintf(format, args...))
}

// Options say how to read a file. The zero value reads CSV in the
// detected encoding.
type Options struct {
	Format   Format
	Encoding Encoding
	// Sheet is the XLSX sheet to read; the first one when "".
	Sheet string
	// MaxRecord bounds one CSV record or JSON line in bytes (1 MiB when
	// 0): a longer one means an unclosed quote or a file that is not
	// text, and memory stays bounded whatever the file holds.
	MaxRecord int
}

// DefaultMaxRecord is the bound of a record when Options.MaxRecord is 0.
const DefaultMaxRecord = 1 << 20

func (o Options) maxRecord() int {
	if o.MaxRecord > 0 {
		return o.MaxRecord
	}
	return DefaultMaxRecord
}

// ParseFormat returns the format of a name ("csv", "jsonl", "xlsx").
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case CSV, JSONL, XLSX:
		return f, nil
	case "json", "ndjson":
		return JSONL, nil
	}
	return "", fmt.Errorf("unknown format %q: csv, jsonl or xlsx", s)
}

// ParseEncoding returns the encoding of a name ("utf-8", "gb18030",
// "auto"); GBK and GB2312 files are read as GB18030, which contains them.
func ParseEncoding(s string) (Encoding, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return Auto, nil
	case "utf-8", "utf8":
		return UTF8, nil
	case "gb18030", "gbk", "gb2312":
		return GB18030, nil
	}
	return "", fmt.Errorf("unknown encoding %q: utf-8, gb18030 or auto", s)
}

// FormatOf guesses the format from a file name's extension.
func FormatOf(name string) (Format, bool) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv", ".txt":
		return CSV, true
	case ".jsonl", ".ndjson":
		return JSONL, true
	case ".xlsx":
		return XLSX, true
	}
	return "", false
}

// Open returns a reader of r in the options' format.
func Open(r io.Reader, opt Options) (Reader, error) {
	switch opt.Format {
	case CSV, "":
		return newCSVReader(r, opt)
	case JSONL:
		return newJSONLReader(r, opt)
	case XLSX:
		return newXLSXReader(r, opt)
	}
	return nil, fmt.Errorf("unknown format %q: csv, jsonl or xlsx", opt.Format)
}

// OpenFile opens the named file; an empty Options.Format is taken from
// the extension. Closing the reader closes the file.
func OpenFile(name string, opt Options) (Reader, error) {
	if opt.Format == "" {
		f, ok := FormatOf(name)
		if !ok {
			return nil, fmt.Errorf("cannot tell the format of %s from its extension: name it (csv, jsonl, xlsx)", filepath.Base(name))
		}
		opt.Format = f
	}
	f, err := os.Open(name) // #nosec G304 -- the file the operator names
	if err != nil {
		return nil, fmt.Errorf("open import file: %w", err)
	}
	r, err := Open(f, opt)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return &fileReader{Reader: r, f: f}, nil
}

type fileReader struct {
	Reader
	f *os.File
}

func (r *fileReader) Close() error {
	err := r.Reader.Close()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// sniffSize is how much of a text file the encoding is decided on.
const sniffSize = 64 << 10

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
	zipMagic   = []byte("PK\x03\x04")
)

// text decides the encoding of a text file from its start and returns a
// reader of its UTF-8 text, the byte order mark removed. A file that is a
// ZIP archive (an XLSX workbook), UTF-16, or has NUL bytes is refused:
// read as CSV it would give rows of noise.
func text(r io.Reader, enc Encoding, format Format) (io.Reader, Encoding, error) {
	br := bufio.NewReaderSize(r, sniffSize)
	head, err := br.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, "", fmt.Errorf("read import file: %w", err)
	}
	atEOF := len(head) < sniffSize
	switch {
	case bytes.HasPrefix(head, zipMagic):
		return nil, "", fileErr("the file is a ZIP archive (an XLSX workbook?), not %s: read it as xlsx", format)
	case bytes.HasPrefix(head, bomUTF16LE), bytes.HasPrefix(head, bomUTF16BE):
		return nil, "", fileErr("the file is in UTF-16: save it as UTF-8 or GB18030")
	case bytes.IndexByte(head, 0) >= 0:
		return nil, "", fileErr("the file has NUL bytes: it is binary, not %s text", format)
	case bytes.HasPrefix(head, bomUTF8):
		if enc == GB18030 {
			return nil, "", fileErr("the file opens with a UTF-8 byte order mark but gb18030 was asked")
		}
		_, _ = br.Discard(len(bomUTF8))
		return br, UTF8, nil
	}
	if !atEOF {
		// Decide on whole lines: a character cut at the end of the sample
		// is not an encoding error. In UTF-8 and GB18030 alike the byte
		// 0x0A is never part of another character.
		if i := bytes.LastIndexByte(head, '\n'); i >= 0 {
			head = head[:i+1]
		}
	}
	if enc == Auto {
		switch {
		case utf8.Valid(head):
			enc = UTF8
		case decodesAsGB18030(head):
			enc = GB18030
		default:
			return nil, "", fileErr("the file is neither UTF-8 nor GB18030 text: name its encoding with --encoding")
		}
	}
	if enc == GB18030 {
		return transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder()), GB18030, nil
	}
	return br, UTF8, nil
}

// decodesAsGB18030 reports whether b is GB18030 text: the decoder turns
// bytes it cannot decode into U+FFFD, which a GB18030 file of licenses
// does not hold.
func decodesAsGB18030(b []byte) bool {
	out, _, err := transform.Bytes(simplifiedchinese.GB18030.NewDecoder(), b)
	return err == nil && !bytes.ContainsRune(out, utf8.RuneError)
}
