// Package use is the using units' side of the platform (用证单位,
// SPEC R-USE): the matters each unit lists (用证事项清单, R-USE-1) with the
// license types and face fields each needs, their approval by the platform
// operator, and the operator's per-type access grants (一证一接口,
// R-USE-3). The scoped use of a holder's licenses for a matter builds on
// the two reads this package offers inside the caller's transaction:
// UsableMatter and Granted. Nothing here reads license data.
package use
