// Package status keeps the status of licenses in W3C Bitstring Status
// Lists: it allocates each license credential an index in one of its
// issuer's lists and decides which bits a lifecycle state sets. The wire
// format (the bitstring, the signed list credential, the entry a license
// carries) is internal/codec/statuslist; docs/status-lists.md describes
// the whole design and why it protects the privacy of holders.
//
// Allocation (allocate.go): every list has at least 131,072 entries; an
// index is drawn uniformly at random from the free indices of the issuer's
// current list, so that neither the index nor the list reveals when a
// license was issued or how many the issuer has; a new list is opened
// when the current one reaches a fill limit (75% by default). The store
// claims an index with a unique constraint and the allocator draws again
// on a conflict, so that processes on one database never hand out the same
// index and nothing is held in memory.
//
// State mapping (state.go): revoked, cancelled, abolished and superseded
// credentials have their revocation bit set, for good; suspended and
// reported-lost ones their suspension bit, until they are resumed.
package status
