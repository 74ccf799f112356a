package wire

// The recording messages join the fixture tests' tables (wire_test.go).
// docs/protocol.md's Recording section is written but not merged yet
// (the lead merges docs): until it is, the two are excused from
// TestDocumentListsEveryMessage, which fails once the document lists
// them, so that these lines go then.
func init() {
	clientMessages[TypeRecord] = Record{}
	serverMessages[TypeRecording] = Recording{}
	notInHeadings["client-to-server/"+TypeRecord] = "docs/protocol.md's Recording section, not merged yet"
	notInHeadings["server-to-client/"+TypeRecording] = "docs/protocol.md's Recording section, not merged yet"
}
