package auth

// KnownDevice reports whether the known-device cookie values name a known
// device of u (as just read from the store), as the code step would see it.
func KnownDevice(s *Service, u User, cookies ...string) bool {
	_, ok := s.knownDevice(u, parseDeviceTokens(cookies))
	return ok
}
