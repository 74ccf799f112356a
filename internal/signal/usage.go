package signal

import "github.com/kaigi-meet/kaigi/internal/live"

// Usage is told when participants enter and leave the rooms of a meeting
// and when rooms close, for the usage figures (internal/usage implements
// it; see live.Usage).
type Usage = live.Usage
