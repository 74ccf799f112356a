package wire

// The recording messages join the fixture tests' tables (wire_test.go).
func init() {
	clientMessages[TypeRecord] = Record{}
	serverMessages[TypeRecording] = Recording{}
}
