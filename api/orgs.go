package api

import "time"

// Responsible is the person in charge of an organization's e-license work.
type Responsible struct {
	Name  string `json:"name" doc:"Name (负责人姓名)."`
	Phone string `json:"phone" doc:"Mobile or landline number."`
	Email string `json:"email,omitempty" doc:"E-mail address."`
}

// Org is an organization.
type Org struct {
	CreditCode  string      `json:"credit_code" doc:"Unified social credit code (统一社会信用代码, GB 32100)."`
	Name        string      `json:"name"`
	Region      string      `json:"region" doc:"GB/T 2260 administrative region code."`
	Kinds       []string    `json:"kinds"`
	Responsible Responsible `json:"responsible"`
	Parent      string      `json:"parent,omitempty" doc:"Credit code of the parent organization."`
	Status      string      `json:"status" enum:"active,inactive"`
	Version     int64       `json:"version"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
}

// Account is a staff account.
type Account struct {
	ID        string    `json:"id"`
	Org       string    `json:"org" doc:"Credit code of the account's organization."`
	Name      string    `json:"name"`
	Roles     []string  `json:"roles"`
	Status    string    `json:"status" enum:"active,inactive"`
	CreatedAt time.Time `json:"created_at"`
}

// Token is an API token's record; the secret appears only when it is created.
type Token struct {
	ID          string     `json:"id"`
	Token       string     `json:"token,omitempty" doc:"The secret: shown once, in the answer to its creation, never again."`
	Prefix      string     `json:"prefix" doc:"The first characters of the secret, to tell tokens apart."`
	AccountID   string     `json:"account_id"`
	Org         string     `json:"org"`
	Roles       []string   `json:"roles"`
	Description string     `json:"description,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

// Me is the authenticated caller.
type Me struct {
	AccountID   string   `json:"account_id"`
	AccountName string   `json:"account_name"`
	TokenID     string   `json:"token_id"`
	Org         string   `json:"org"`
	Roles       []string `json:"roles"`
}
