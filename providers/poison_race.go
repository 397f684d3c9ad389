//go:build race

package providers

const poisonReleased = true
