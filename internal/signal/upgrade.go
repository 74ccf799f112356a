package signal

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
)

// upgradeBufSize is the size of a signalling socket's read and write
// buffers. Messages are JSON of a few hundred bytes; the larger ones (a
// session description, kilobytes) pass through bufio without being
// copied into the buffer, so a small buffer costs a system call or two
// more per large message, a handful per join.
const upgradeBufSize = 1 << 10

// ownBuffers is the ResponseWriter the WebSocket upgrade sees: its
// Hijack hands the WebSocket library buffers of upgradeBufSize instead
// of net/http's connection buffers (4 KiB each way, kept for the whole
// call). With ServeHTTP returning once the session is started, net/http
// lets go of its own buffers, the request and the connection state.
type ownBuffers struct{ http.ResponseWriter }

func (o ownBuffers) Unwrap() http.ResponseWriter { return o.ResponseWriter }

func (o ownBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(o.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	r := bufio.NewReaderSize(c, upgradeBufSize)
	if n := brw.Reader.Buffered(); n > 0 {
		// What the client sent right behind its upgrade request: it
		// must wait in the new buffer (the WebSocket library takes what
		// is buffered, then reads the connection itself).
		b, _ := brw.Reader.Peek(n)
		r = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(b)), c), max(n, upgradeBufSize))
		if _, err := r.Peek(n); err != nil {
			c.Close()
			return nil, nil, err
		}
	}
	// net/http flushed the 101 response before handing the connection
	// over: nothing waits in its writer.
	return c, bufio.NewReadWriter(r, bufio.NewWriterSize(c, upgradeBufSize)), nil
}
