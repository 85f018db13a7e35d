//go:build !race

package rdbstream

const raceEnabled = false
