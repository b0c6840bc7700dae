package api

import "time"

// Holder is a holder (持证主体) signed in: a person or an organization.
type Holder struct {
	ID   string `json:"id"`
	Kind string `json:"kind" enum:"person,organization"`
	Name string `json:"name"`
	// Representative names the person acting for an organization.
	Representative string `json:"representative,omitempty"`
}

// HolderSession is a holder session, as its creation answers it.
type HolderSession struct {
	Token string `json:"token" doc:"The bearer secret (zh_…): shown once, never stored. Send it as Authorization: Bearer <token> to the /me operations."`
	HolderSessionInfo
}

// HolderSessionInfo is who a holder session is and how long it lasts.
type HolderSessionInfo struct {
	SessionID string    `json:"session_id"`
	Method    string    `json:"method" enum:"oidc,demo" doc:"How the holder signed in."`
	Holder    Holder    `json:"holder"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at" doc:"The latest end of the session; it ends earlier after idle_seconds without use, or at logout."`
	IdleSecs  int64     `json:"idle_seconds" doc:"The session ends after this many seconds without use."`
}

// HolderLoginOptions says how holders may sign in on this platform, for
// the holder page to offer the ways that are on.
type HolderLoginOptions struct {
	OIDC bool `json:"oidc" doc:"An identity provider is configured: GET /api/v1/holder/login begins a sign-in."`
	Demo bool `json:"demo" doc:"The demo login (POST /api/v1/holder/demo-login) is on: never in production."`
}

// HolderDemoLogin is a request of the demo login: who to sign in as.
type HolderDemoLogin struct {
	CitizenID      string `json:"citizen_id,omitempty" maxLength:"64" doc:"A person's citizen ID number (GB 11643); or give credit_code."`
	CreditCode     string `json:"credit_code,omitempty" maxLength:"64" doc:"An organization's unified social credit code (GB 32100); or give citizen_id."`
	Name           string `json:"name" maxLength:"100" doc:"The holder's name: the person's, or the organization's."`
	Representative string `json:"representative,omitempty" maxLength:"100" doc:"With credit_code: the person acting for the organization."`
}

// HolderNotice is a delivery notice (送达) of a license the holder holds:
// its issuance or a change of it.
type HolderNotice struct {
	LicenseID string    `json:"license_id"`
	Seq       int64     `json:"seq" doc:"0 for the issuance; otherwise the place of the transition in the license's history."`
	Operation string    `json:"operation" doc:"issue, or the lifecycle operation (change, suspend, revoke, …)."`
	From      string    `json:"from,omitempty"`
	To        string    `json:"to"`
	Version   int64     `json:"version" doc:"The version of the license the notice is about."`
	At        time.Time `json:"at"`
}
