package signal

import "github.com/kaigi-meet/kaigi/internal/live"

// KeptStore keeps who is admitted to live meetings across server runs,
// so that they resume after a restart or a crash (live.KeptStore).
type KeptStore = live.KeptStore
