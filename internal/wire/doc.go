// Package wire holds the signalling protocol of docs/protocol.md as Go
// types: every message the server and a client exchange over the
// WebSocket, in both directions, with their JSON field names, and the
// protocol's version, message types, error and refusal codes and `closed`
// reasons as named constants. The server (internal/signal) and the Go
// client (internal/client) both speak through these types, so each
// message's shape is written down once.
//
// testdata holds one canonical example of every message type, by
// direction (client-to-server, server-to-client). The package's tests
// decode each into its type and encode it back to the same JSON, and
// check that docs/protocol.md lists exactly the types that have an
// example; the web client's tests (web/test/wire-fixtures.test.ts) feed
// the same examples to its own parser and builders. A field renamed or
// dropped on one side fails a test on the other.
//
// The types are plain structs with no custom marshalling, so encoding one
// costs what encoding a hand-written struct did; the Type field of each
// message is set by the sender to one of the Type constants.
package wire
