//go:build !race

package importer

// raceEnabled: the race detector slows the reading of large files tenfold.
const raceEnabled = false
