package server

import (
	"io"
	"sync"
)

// logPending bounds what a LogWriter holds before writers wait for it.
const logPending = 1 << 20

// LogWriter hands log lines to a goroutine that writes them out, so that
// a request never writes to the log's file itself. slog's handlers hold a
// lock while they write; with a system call under that lock, a busy server
// queued every request behind the slowest write, which showed as
// hundreds of milliseconds of tail latency. Here a Write only copies the
// line; lines reach w in order, as soon as the goroutine is scheduled, in
// batches when they come faster than one write. Nothing is dropped: past
// logPending bytes, writers wait. Close writes what is pending; lines
// written after Close go straight to w. What a crash of the process can
// lose is what was written but not yet flushed, typically microseconds of
// lines.
type LogWriter struct {
	w io.Writer

	mu      sync.Mutex
	changed *sync.Cond // buf or closed changed
	buf     []byte
	closed  bool
	done    chan struct{}
}

// NewLogWriter starts writing to w.
func NewLogWriter(w io.Writer) *LogWriter {
	l := &LogWriter{w: w, done: make(chan struct{})}
	l.changed = sync.NewCond(&l.mu)
	go l.run()
	return l
}

// Write implements io.Writer. It never fails: a log that cannot be written
// has nowhere to say so.
func (l *LogWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return l.w.Write(p)
	}
	for len(l.buf) >= logPending && !l.closed {
		l.changed.Wait()
	}
	if l.closed {
		l.mu.Unlock()
		return l.w.Write(p)
	}
	l.buf = append(l.buf, p...)
	l.changed.Broadcast()
	l.mu.Unlock()
	return len(p), nil
}

func (l *LogWriter) run() {
	defer close(l.done)
	var out []byte
	l.mu.Lock()
	for {
		for len(l.buf) == 0 && !l.closed {
			l.changed.Wait()
		}
		if len(l.buf) == 0 {
			l.mu.Unlock()
			return
		}
		out, l.buf = l.buf, out[:0]
		l.changed.Broadcast() // writers waiting for room
		l.mu.Unlock()
		l.w.Write(out) //nolint:errcheck // see Write
		l.mu.Lock()
	}
}

// Close writes what is pending and returns once it is written.
func (l *LogWriter) Close() error {
	l.mu.Lock()
	l.closed = true
	l.changed.Broadcast()
	l.mu.Unlock()
	<-l.done
	return nil
}
