package pkcs11

import (
	"context"
	"errors"
	"fmt"
	"sync"

	p11 "github.com/miekg/pkcs11"
)

// maxRawSessions bounds the sessions the raw module context opens. Ed25519
// signing takes well under a millisecond on SoftHSM2 and network HSMs
// limit sessions per client, so a few sessions serve a busy server without
// exhausting the token.
const maxRawSessions = 8

// rawModule is a second, direct handle on the PKCS#11 module that crypto11
// has loaded, used for what crypto11 cannot do (EdDSA). crypto11 keeps its
// own handle unexported, so this one is opened beside it: the dynamic
// loader gives both the same library instance, so both share the module's
// initialisation and the user's login. It therefore never calls
// C_Finalize, C_Logout or C_CloseAllSessions, which would pull the token
// from under crypto11 (and under other Tokens in the process), unless it
// initialised the module itself.
type rawModule struct {
	ctx        *p11.Ctx
	slot       uint
	pin        string
	ownsInit   bool          // this handle's C_Initialize succeeded, so it must finalize
	mechanisms map[uint]bool // the token's mechanisms, read once at Open
	sem        chan struct{} // one token per session in use or idle
	done       chan struct{} // closed by close, wakes waiting acquirers
	mu         sync.Mutex    // guards idle and closed
	idle       []p11.SessionHandle
	closed     bool
	closeOnce  sync.Once
	closeErr   error
}

// openRawModule loads the module at cfg.ModulePath, finds the token
// labelled cfg.TokenLabel as crypto11 does (the first present token with
// that label) and reads its mechanism list. Sessions are opened on demand.
func openRawModule(cfg Config) (*rawModule, error) {
	ctx := p11.New(cfg.ModulePath)
	if ctx == nil {
		return nil, fmt.Errorf("%w %s: cannot load it a second time for EdDSA", ErrModule, cfg.ModulePath)
	}
	owns := true
	if err := ctx.Initialize(); err != nil {
		if !errors.Is(err, p11.Error(p11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
			ctx.Destroy()
			return nil, fmt.Errorf("%w %s: C_Initialize: %w", ErrModule, cfg.ModulePath, err)
		}
		// The expected case: crypto11 initialised the module in this process.
		owns = false
	}
	m := &rawModule{ctx: ctx, pin: cfg.PIN, ownsInit: owns,
		sem: make(chan struct{}, maxRawSessions), done: make(chan struct{})}
	if err := m.init(cfg); err != nil {
		if uerr := m.unload(); uerr != nil {
			return nil, errors.Join(err, uerr)
		}
		return nil, err
	}
	return m, nil
}

// init finds the slot and reads its mechanisms.
func (m *rawModule) init(cfg Config) error {
	slots, err := m.ctx.GetSlotList(true)
	if err != nil {
		return fmt.Errorf("list slots of %s: %w", cfg.ModulePath, err)
	}
	found := false
	for _, s := range slots {
		info, err := m.ctx.GetTokenInfo(s)
		if err == nil && info.Label == cfg.TokenLabel {
			m.slot, found = s, true
			break
		}
	}
	if !found {
		return fmt.Errorf("%w: no initialized token labelled %q in module %s", ErrTokenNotFound, cfg.TokenLabel, cfg.ModulePath)
	}
	mechs, err := m.ctx.GetMechanismList(m.slot)
	if err != nil {
		return fmt.Errorf("list mechanisms of token %q: %w", cfg.TokenLabel, err)
	}
	m.mechanisms = make(map[uint]bool, len(mechs))
	for _, mech := range mechs {
		m.mechanisms[mech.Mechanism] = true
	}
	return nil
}

// session is a raw PKCS#11 session borrowed from the pool.
type session struct {
	m      *rawModule
	h      p11.SessionHandle
	broken bool // set when the session must not be reused
}

// acquire borrows a logged-in read-write session, opening one when none is
// idle and fewer than maxRawSessions exist, else waiting for one.
func (m *rawModule) acquire(ctx context.Context) (*session, error) {
	select {
	case m.sem <- struct{}{}:
	case <-m.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a PKCS#11 session: %w", ctx.Err())
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		<-m.sem
		return nil, ErrClosed
	}
	if n := len(m.idle); n > 0 {
		h := m.idle[n-1]
		m.idle = m.idle[:n-1]
		m.mu.Unlock()
		return &session{m: m, h: h}, nil
	}
	m.mu.Unlock()
	h, err := m.open()
	if err != nil {
		<-m.sem
		return nil, err
	}
	return &session{m: m, h: h}, nil
}

// open opens a read-write session (generating token objects needs one)
// and logs the user in. Login state is shared by all sessions of the
// application, so CKR_USER_ALREADY_LOGGED_IN — crypto11 logged in first —
// is success.
func (m *rawModule) open() (p11.SessionHandle, error) {
	h, err := m.ctx.OpenSession(m.slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		return 0, fmt.Errorf("open PKCS#11 session: %w", err)
	}
	if err := m.ctx.Login(h, p11.CKU_USER, m.pin); err != nil && !errors.Is(err, p11.Error(p11.CKR_USER_ALREADY_LOGGED_IN)) {
		_ = m.ctx.CloseSession(h)
		var code p11.Error
		if errors.As(err, &code) && isPINError(code) {
			return 0, fmt.Errorf("%w: login failed: %s", ErrPIN, code.Error())
		}
		return 0, fmt.Errorf("log in to PKCS#11 session: %w", err)
	}
	return h, nil
}

// release returns s to the pool, or closes it when it is broken or the
// module is closing.
func (s *session) release() {
	m := s.m
	m.mu.Lock()
	if s.broken || m.closed {
		m.mu.Unlock()
		_ = m.ctx.CloseSession(s.h)
	} else {
		m.idle = append(m.idle, s.h)
		m.mu.Unlock()
	}
	<-m.sem
}

// check marks s broken when err says the session (or the device) is gone,
// so it is not reused, and returns err.
func (s *session) check(err error) error {
	var code p11.Error
	if errors.As(err, &code) {
		switch code {
		case p11.CKR_SESSION_HANDLE_INVALID, p11.CKR_SESSION_CLOSED, p11.CKR_DEVICE_REMOVED,
			p11.CKR_DEVICE_ERROR, p11.CKR_TOKEN_NOT_PRESENT, p11.CKR_OPERATION_ACTIVE,
			p11.CKR_USER_NOT_LOGGED_IN:
			s.broken = true
		}
	}
	return err
}

// has reports whether the token offers mechanism mech.
func (m *rawModule) has(mech uint) bool { return m.mechanisms[mech] }

// close waits for sessions in use to come back, closes every session this
// handle opened and unloads the handle. Calling it again returns the first
// result.
func (m *rawModule) close() error {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closed = true
		m.mu.Unlock()
		close(m.done)
		// Filling the semaphore waits for the operations in progress.
		for range cap(m.sem) {
			m.sem <- struct{}{}
		}
		m.mu.Lock()
		idle := m.idle
		m.idle = nil
		m.mu.Unlock()
		var errs []error
		for _, h := range idle {
			if err := m.ctx.CloseSession(h); err != nil {
				errs = append(errs, fmt.Errorf("close PKCS#11 session: %w", err))
			}
		}
		if err := m.unload(); err != nil {
			errs = append(errs, err)
		}
		m.closeErr = errors.Join(errs...)
	})
	return m.closeErr
}

// unload finalizes the module only if this handle initialised it, then
// drops this handle's reference to the library.
func (m *rawModule) unload() error {
	var err error
	if m.ownsInit {
		if ferr := m.ctx.Finalize(); ferr != nil {
			err = fmt.Errorf("C_Finalize: %w", ferr)
		}
	}
	m.ctx.Destroy()
	return err
}
