//go:build !race

package dripcel_test

const raceEnabled = false
