//go:build !race

package sfu

// review5RaceEnabled: built with -race (sync.Pool then drops items at random).
const review5RaceEnabled = false
