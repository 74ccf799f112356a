package auth

// Hashes counts the argon2id runs (hashes and verifications) the service
// has done, so tests can check that a refusal did not spend one.
func Hashes(s *Service) int64 { return s.hashes.Load() }
