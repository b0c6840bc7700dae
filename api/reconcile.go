package api

import "time"

// LatenessRow counts the licenses of one issuer and type whose cases
// completed in one month, of one kind, that reached the platform in time
// and late.
type LatenessRow struct {
	Issuer string `json:"issuer"`
	Type   string `json:"type"`
	Month  string `json:"month" doc:"The month of the business completion (办结), YYYY-MM in China Standard Time (UTC+8)."`
	Kind   string `json:"kind" enum:"issued,increment,stock" doc:"issued: issued on the platform (its issuance is its completion, always in time); increment: imported as a day's increment of licenses issued offline, due the day of completion; stock: imported in bulk, due within five working days."`
	OnTime int64  `json:"on_time"`
	Late   int64  `json:"late"`
}

// LatenessReport is the aggregation deadlines report (汇聚时效).
type LatenessReport struct {
	From string        `json:"from"`
	To   string        `json:"to"`
	Rows []LatenessRow `json:"rows"`
}

// LicensePair is a license number and its version.
type LicensePair struct {
	Number  string `json:"number" maxLength:"64"`
	Version int64  `json:"version" doc:"The number of face versions of the license: 1 for a license never changed."`
}

// NewReconciliation is what an issuer states it holds of a license type:
// a count and a digest, or its list.
type NewReconciliation struct {
	Type   string `json:"type" maxLength:"64" doc:"The license type code."`
	Issuer string `json:"issuer,omitempty" maxLength:"64" doc:"The issuer: platform admins name it; an organization reconciles only its own."`
	Count  int64  `json:"count,omitempty" doc:"How many licenses of the type the issuer holds (without licenses)."`
	Digest string `json:"digest,omitempty" maxLength:"128" doc:"SHA-256 (hex) over the lines \"number\\tversion\\n\" of its licenses sorted by number in byte order (without licenses)."`
	// Licenses is a pointer so that an empty list (the issuer holds none)
	// differs from no list.
	Licenses *[]LicensePair `json:"licenses,omitempty" maxItems:"10000" doc:"The issuer's (number, version) pairs, in any order, instead of count and digest: the answer then names the first differing numbers."`
}

// Tally is a count of licenses and the digest of their sorted pairs.
type Tally struct {
	Count  int64  `json:"count"`
	Digest string `json:"digest"`
}

// Difference is a number on which the issuer and the platform differ.
type Difference struct {
	Number          string `json:"number"`
	Kind            string `json:"kind" enum:"missing,extra,version" doc:"missing: the issuer lists it, the platform lacks it; extra: the platform holds it, the issuer does not list it; version: both, at other versions."`
	StatedVersion   int64  `json:"stated_version" doc:"0 when the issuer does not list it."`
	PlatformVersion int64  `json:"platform_version" doc:"0 when the platform lacks it."`
}

// Reconciliation is a recorded comparison (对账) of an issuer's statement
// with the platform's licenses.
type Reconciliation struct {
	ID       string `json:"id"`
	Issuer   string `json:"issuer"`
	Type     string `json:"type"`
	Match    bool   `json:"match" doc:"The counts and the digests are equal."`
	Stated   Tally  `json:"stated"`
	Platform Tally  `json:"platform"`
	Listed   bool   `json:"listed" doc:"The issuer sent its list: the differences are counted."`
	Missing  int64  `json:"missing"`
	Extra    int64  `json:"extra"`
	Version  int64  `json:"version" doc:"Numbers both hold at other versions."`
	// First is never null: an empty list is [].
	First     []Difference `json:"first" doc:"The first 20 differing numbers in byte order."`
	CreatedBy string       `json:"created_by"`
	CreatedAt time.Time    `json:"created_at"`
}
