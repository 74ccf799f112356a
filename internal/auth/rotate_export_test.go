package auth

// CrashRotationAt makes RotateKey stop after step ("written": the new key
// file is on disk; "committed": the database is re-sealed) as if the
// process had died there, until restore is called.
func CrashRotationAt(step string) (restore func()) {
	old := crashAt
	crashAt = func(s string) bool { return s == step }
	return func() { crashAt = old }
}
