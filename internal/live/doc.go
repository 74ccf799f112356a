// Package live runs a node's live meetings: a Room per meeting in
// progress (its breakout rooms are Rooms too) holds the meeting core
// (internal/meeting), the meeting's SFU router, its end-to-end
// encryption delivery service (internal/e2ee), host controls, breakout
// rooms, the resume grace of those who lost their connection, and who is
// kept across restarts. A Hub opens rooms from the store and finds them.
//
// A room reaches its members only through Conn: send a message, close
// with a Reason. It knows no transport: internal/signal implements Conn
// for a local WebSocket (and maps a Reason to a close code), and a
// participant on another node can be a member through another
// implementation. The package imports neither net/http nor a WebSocket
// library.
package live
