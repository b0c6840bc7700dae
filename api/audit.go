package api

import "time"

// AuditEntry is an entry of the tamper-evident audit log.
type AuditEntry struct {
	Index   uint64            `json:"index"`
	At      time.Time         `json:"at"`
	Actor   string            `json:"actor" doc:"Account ID, or system or operator."`
	Org     string            `json:"org" doc:"The organization whose data or seal was acted on."`
	Action  string            `json:"action" doc:"What was done, e.g. seal.sign (docs/audit.md lists them)."`
	Subject string            `json:"subject" doc:"What was acted on, e.g. a seal code."`
	Details map[string]string `json:"details,omitempty"`
	Pending bool              `json:"pending,omitempty" doc:"Not integrated into the tree yet, so index means nothing. The API lists such entries under pending instead; zhengzhao audit list shows them here."`
}

// PendingAuditEntry is an entry waiting for integration: it has no index
// and no leaf yet.
type PendingAuditEntry struct {
	Pending  bool              `json:"pending" doc:"Always true: the entry is not in the tree yet."`
	Sequence uint64            `json:"sequence" doc:"Its place in the queue; entries are integrated in this order."`
	At       time.Time         `json:"at"`
	Actor    string            `json:"actor"`
	Org      string            `json:"org"`
	Action   string            `json:"action"`
	Subject  string            `json:"subject"`
	Details  map[string]string `json:"details,omitempty"`
}

// AuditTree is the state of the audit log's Merkle tree.
type AuditTree struct {
	Size   uint64 `json:"size"`
	Root   string `json:"root" doc:"RFC 6962 (SHA-256) root hash, hex."`
	Intact bool   `json:"intact" doc:"Recomputing the root from every entry gives the stored root."`
	Reason string `json:"reason,omitempty"`
}

// AuditProof is an RFC 6962 inclusion or consistency proof.
type AuditProof struct {
	Index *uint64  `json:"index,omitempty"`
	From  *uint64  `json:"from,omitempty"`
	Size  uint64   `json:"size"`
	Leaf  []byte   `json:"leaf,omitempty" doc:"The entry's canonical bytes (RFC 8785), whose RFC 6962 leaf hash the proof starts from."`
	Proof []string `json:"proof" doc:"Hashes, hex, in RFC 6962 order."`
	Root  string   `json:"root" doc:"Root of the tree of this size, hex."`
}

// AuditCosignature is a witness's cosignature of an audit checkpoint as
// the platform took it (docs/audit.md, "Witnesses").
type AuditCosignature struct {
	Witness   string    `json:"witness" doc:"The witness's name, as in its verifier key."`
	Size      uint64    `json:"size" doc:"Size of the cosigned checkpoint."`
	Timestamp time.Time `json:"timestamp" doc:"When the witness cosigned, as it signed it (whole seconds)."`
	Stored    bool      `json:"stored" doc:"false when this witness's cosignature of this checkpoint was stored already."`
}

// HolderAuditPage is a page of the audit entries about a holder's licenses,
// each with its proof of inclusion in the tree the checkpoint signs.
type HolderAuditPage struct {
	Checkpoint    string            `json:"checkpoint" doc:"A signed checkpoint (C2SP tlog-checkpoint) of the tree of size entries."`
	CheckpointKey string            `json:"checkpoint_key" doc:"The note verifier key that signs checkpoints. Pin it, or compare it with the key witnesses and auditors publish: a key taken from the same answer proves only consistency."`
	Size          uint64            `json:"size" doc:"The tree size the checkpoint signs and every proof leads to."`
	Items         []HolderAuditItem `json:"items"`
	Next          *uint64           `json:"next,omitempty" doc:"Index to continue from; absent at the end."`
}

// HolderAuditItem is one audit entry about a holder's license with its
// RFC 6962 inclusion proof.
type HolderAuditItem struct {
	Entry AuditEntry `json:"entry"`
	Leaf  []byte     `json:"leaf" doc:"The entry's canonical bytes (RFC 8785), whose RFC 6962 leaf hash the proof starts from."`
	Proof []string   `json:"proof" doc:"Hashes, hex, in RFC 6962 order, from the leaf to the checkpoint's root."`
}
