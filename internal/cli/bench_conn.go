package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// benchConn sends a bench's requests, one at a time, as one client
// connection does.
type benchConn interface {
	// do sends req with body (nil: none) and checks the answer: a 200, and
	// req.want in its body when set.
	do(ctx context.Context, req benchRequest, body []byte) error
	close()
}

// newBenchConn returns a connection of the bench to req.url: a plain
// HTTP/1.1 one of its own for http URLs, net/http's client for others
// (https against --url).
//
// The bench's client shares the machine, and for a redemption the process
// with the server: net/http's transport costs some 35 µs of CPU a request
// (a read and a write goroutine a connection, handing each request and
// answer between three goroutines), a fifth of a redemption's, which the
// server then cannot have. One goroutine writing a request and reading its
// answer on one keep-alive connection costs a fraction of it, and checks
// as much: the status, the body's length or chunks, the content wanted.
func newBenchConn(client *http.Client, req benchRequest) (benchConn, error) {
	u, err := url.Parse(req.url)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return httpBenchConn{client: client}, nil
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	var head bytes.Buffer
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: zhengzhao-bench\r\n", req.method, u.RequestURI(), u.Host)
	if req.token != "" {
		fmt.Fprintf(&head, "Authorization: Bearer %s\r\n", req.token)
	}
	return &rawBenchConn{addr: host, head: head.Bytes()}, nil
}

// httpBenchConn sends through net/http's client, whose transport keeps
// the connections.
type httpBenchConn struct{ client *http.Client }

func (c httpBenchConn) close() {}

func (c httpBenchConn) do(ctx context.Context, req benchRequest, body []byte) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequestWithContext(ctx, req.method, req.url, rd)
	if err != nil {
		return err
	}
	if req.token != "" {
		r.Header.Set("Authorization", "Bearer "+req.token)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return checkAnswer(req, resp.StatusCode, b)
}

// checkAnswer fails an answer but a 200, or one without req.want.
func checkAnswer(req benchRequest, status int, body []byte) error {
	if status != http.StatusOK {
		return fmt.Errorf("%s %s: status %d: %.300s", req.method, req.url, status, body)
	}
	if req.want != nil && !bytes.Contains(body, req.want) {
		return fmt.Errorf("%s %s: no %s in the answer: %.300s", req.method, req.url, req.want, body)
	}
	return nil
}

// maxBenchAnswer bounds an answer's body the bench reads.
const maxBenchAnswer = 1 << 20

// rawBenchConn is one keep-alive HTTP/1.1 connection written and read by
// its caller's goroutine. It dials on first use and again after the server
// closed it (Connection: close); any other failure fails the measurement.
type rawBenchConn struct {
	addr string
	head []byte // request line and fixed headers, ending in CRLF
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	body []byte // the last answer's body, reused
	stop func() bool
}

func (c *rawBenchConn) close() {
	if c.stop != nil {
		c.stop()
		c.stop = nil
	}
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

func (c *rawBenchConn) dial(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return err
	}
	// The measurement's end or another connection's failure ends ctx:
	// closing the connection then ends a read that waits on a hung server.
	c.stop = context.AfterFunc(ctx, func() { conn.Close() })
	c.conn = conn
	if c.r == nil {
		c.r, c.w = bufio.NewReaderSize(conn, 16<<10), bufio.NewWriterSize(conn, 16<<10)
	} else {
		c.r.Reset(conn)
		c.w.Reset(conn)
	}
	return nil
}

func (c *rawBenchConn) do(ctx context.Context, req benchRequest, body []byte) error {
	if c.conn == nil {
		if err := c.dial(ctx); err != nil {
			return err
		}
	}
	err := c.roundTrip(req, body)
	if err != nil {
		c.close()
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return err
}

func (c *rawBenchConn) roundTrip(req benchRequest, body []byte) error {
	c.w.Write(c.head) //nolint:errcheck // a bufio.Writer keeps its error for Flush
	if body != nil {
		c.w.WriteString("Content-Type: application/json\r\nContent-Length: ") //nolint:errcheck // as above
		c.w.WriteString(strconv.Itoa(len(body)))                              //nolint:errcheck // as above
		c.w.WriteString("\r\n\r\n")                                           //nolint:errcheck // as above
		c.w.Write(body)                                                       //nolint:errcheck // as above
	} else {
		c.w.WriteString("\r\n") //nolint:errcheck // as above
	}
	if err := c.w.Flush(); err != nil {
		return err
	}
	status, length, chunked, closing, err := c.readHead()
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.method, req.url, err)
	}
	c.body = c.body[:0]
	switch {
	case req.method == http.MethodHead || status == http.StatusNoContent || status == http.StatusNotModified:
	case chunked:
		err = c.readChunked()
	case length >= 0:
		if length > maxBenchAnswer {
			return fmt.Errorf("%s %s: an answer of %d bytes", req.method, req.url, length)
		}
		c.body = append(c.body, make([]byte, length)...)
		_, err = io.ReadFull(c.r, c.body)
	default: // the body ends with the connection
		c.body, err = io.ReadAll(io.LimitReader(c.r, maxBenchAnswer))
		closing = true
	}
	if err != nil {
		return fmt.Errorf("%s %s: answer: %w", req.method, req.url, err)
	}
	if closing {
		c.close()
	}
	return checkAnswer(req, status, c.body)
}

// readHead reads the status line and the headers, and returns what the
// body's reading needs: its Content-Length (-1: none), whether it is
// chunked, and whether the server closes the connection after it.
func (c *rawBenchConn) readHead() (status, length int, chunked, closing bool, err error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, 0, false, false, err
	}
	// HTTP/1.1 200 OK
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, 0, false, false, fmt.Errorf("not an HTTP/1.x status line: %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, 0, false, false, fmt.Errorf("status line %q", line)
	}
	closing = line[7] == '0' // HTTP/1.0 closes unless told otherwise
	length = -1
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, 0, false, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			return status, length, chunked, closing, nil
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, 0, false, false, fmt.Errorf("header line %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, 0, false, false, fmt.Errorf("Content-Length %q", value)
			}
		case asciiEqualFold(name, "Transfer-Encoding"):
			chunked = asciiEqualFold(value, "chunked")
			if !chunked {
				return 0, 0, false, false, fmt.Errorf("Transfer-Encoding %q", value)
			}
		case asciiEqualFold(name, "Connection"):
			closing = asciiEqualFold(value, "close")
		}
	}
}

// readChunked reads a chunked body into c.body, and its trailer.
func (c *rawBenchConn) readChunked() error {
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseUint(string(bytes.TrimSpace(size)), 16, 32)
		if err != nil {
			return fmt.Errorf("chunk size %q", line)
		}
		if n == 0 {
			for { // the trailer, up to an empty line
				line, err := c.r.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if len(c.body)+int(n) > maxBenchAnswer {
			return errors.New("an answer longer than 1 MiB")
		}
		start := len(c.body)
		c.body = append(c.body, make([]byte, n)...)
		if _, err := io.ReadFull(c.r, c.body[start:]); err != nil {
			return err
		}
		if crlf, err := c.r.ReadSlice('\n'); err != nil || len(bytes.TrimRight(crlf, "\r\n")) != 0 {
			return fmt.Errorf("no CRLF after a chunk: %v", err)
		}
	}
}

// asciiEqualFold reports whether b is s, ASCII letters compared without
// case, as header names and these values are.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// benchDeadline is how long a measurement may take past its duration
// before its connections are closed: a hung server must not hang the
// bench.
const benchDeadline = 30 * time.Second
