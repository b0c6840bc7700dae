package archtest

// layers is the one list of allowed arrows (DESIGN.md §4,
// docs/architecture.md): every package of the module belongs to exactly
// one layer — the one with the longest matching pattern — and may import,
// from this module and from the outside layers below, only its own layer
// and the layers it names. Every rule of arch_test.go is checked from this
// table; a new package is placed here or the test fails.
//
// Patterns are module-relative ("internal/seal") or, for outside layers,
// full import paths ("database/sql"); "p/..." is p and everything under it.
var layers = []layer{
	{name: "main", packages: []string{"cmd/..."},
		imports: []string{"wiring"}},
	// Builds the object graph from the configuration.
	{name: "wiring", packages: []string{"internal/cli", "internal/platform", "internal/config"},
		imports: []string{"server", "pages", "renderers", "capabilities", "store", "leaves", "verify", "codecs", "crypto", "custody", "api"}},
	// The HTTP edge: middleware, probes, huma operations, problem+json.
	{name: "server", packages: []string{"internal/server", "internal/httpapi"},
		imports: []string{"renderers", "capabilities", "store", "leaves", "verify", "crypto", "api"}},
	// Browser pages: embedded static files (internal/web), on the
	// standard library alone.
	{name: "pages", packages: []string{"internal/web"}},
	// Printable and visual forms of what the capabilities hold (the PDF
	// copy of a license, QR pictures): pure drawing from a decoded document and the
	// catalog's types, without keys or state.
	{name: "renderers", packages: []string{"internal/printout", "internal/qrimage"},
		imports: []string{"capabilities", "leaves", "codecs", "crypto"}},
	// Stateful services; each declares the store interfaces it needs.
	{name: "capabilities", packages: []string{"internal/org", "internal/seal", "internal/notify", "internal/auditlog", "internal/keyring", "internal/pki", "internal/catalog", "internal/status", "internal/license", "internal/trust", "internal/holder", "internal/present", "internal/use", "internal/importer/..."},
		imports: []string{"leaves", "verify", "codecs", "crypto"}},
	// The only speaker of SQL; implements the capabilities' interfaces.
	{name: "store", packages: []string{"internal/store/..."},
		imports: []string{"capabilities", "leaves", "crypto", "custody", "sql"}},
	{name: "leaves", packages: []string{"internal/apperr", "internal/authz", "internal/cputime", "internal/ids", "internal/i18n", "internal/page", "internal/password", "internal/reqctx"}},
	// Public offline verification: a relying party imports it without the
	// platform, so what it reaches, directly or not, stays in these layers
	// and these modules.
	// The QR payload's CBOR (codec/qr) brings fxamacker/cbor and the half
	// floats CBOR may hold. Batch-signed licenses (codec/license) check
	// their inclusion proofs with transparency-dev/merkle, which imports
	// only the standard library.
	{name: "verify", packages: []string{"verify/..."},
		imports: []string{"codecs", "crypto"},
		external: []string{"github.com/emmansun/gmsm/...", "golang.org/x/crypto/...", "github.com/gowebpki/jcs",
			"github.com/fxamacker/cbor/v2", "github.com/x448/float16", "github.com/transparency-dev/merkle/..."},
		transitive: true},
	// Wire formats shared by verify and the capabilities; no state.
	{name: "codecs", packages: []string{"internal/codec/..."},
		imports: []string{"crypto"}},
	// Pure cryptography: signature algorithms, certificate chains, RFC 8785.
	{name: "crypto", packages: []string{"internal/keys", "internal/keys/ca", "internal/keys/canon"}},
	// Keys in custody: the master key and field encryption, PKCS#11 tokens.
	{name: "custody", packages: []string{"internal/keys/envelope", "internal/keys/pkcs11"},
		imports: []string{"crypto"}},
	// The HTTP contract as published: body types and the OpenAPI document,
	// on the standard library alone.
	{name: "api", packages: []string{"api"}, external: []string{}},
	// Support for tests; nothing but tests imports it.
	{name: "test support", packages: []string{"internal/testskip", "internal/store/storetest", "internal/keys/pkcs11/softhsmtest", "internal/server/servertest"},
		imports: []string{"store", "capabilities", "leaves", "crypto", "custody", "sql"}},
	// Outside the module: the SQL drivers, migrations and database/sql.
	{name: "sql", outside: true, packages: []string{"database/sql/...", "github.com/jackc/pgx/...", "modernc.org/sqlite/...", "github.com/pressly/goose/..."}},
}
