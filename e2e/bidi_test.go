package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/coder/websocket"
)

// bidiConn is a WebDriver BiDi session (https://w3c.github.io/webdriver-bidi/)
// over one WebSocket: JSON commands with an id, answered by id in any order,
// and events in between. It is the little of the protocol the Firefox tests
// need; firefox_test.go uses it. Firefox's built-in remote agent speaks it,
// so no geckodriver is involved.
type bidiConn struct {
	ws *websocket.Conn
	// onEvent receives every event, on the reading goroutine; it must not
	// block or call back into the connection.
	onEvent func(method string, params json.RawMessage)

	mu      sync.Mutex
	next    int64
	pending map[int64]chan bidiMessage
	err     error // why reading stopped; set once, before done closes

	done chan struct{} // closed when the reading goroutine has returned
}

// bidiMessage is anything the remote end sends: a command's result or
// error (id set), or an event (method set).
type bidiMessage struct {
	Type    string          `json:"type"` // "success", "error" or "event"
	ID      *int64          `json:"id"`
	Result  json.RawMessage `json:"result"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
	Error   string          `json:"error"`
	Message string          `json:"message"`
}

// bidiError is a command the remote end refused.
type bidiError struct {
	Method, Code, Message string
}

func (e *bidiError) Error() string {
	return fmt.Sprintf("webdriver bidi %s: %s: %s", e.Method, e.Code, e.Message)
}

var errBiDiClosed = errors.New("webdriver bidi: connection closed")

// dialBiDi connects to a BiDi endpoint (ws://HOST:PORT/session) and starts
// a session. onEvent may be nil.
func dialBiDi(ctx context.Context, url string, onEvent func(method string, params json.RawMessage)) (*bidiConn, error) {
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	ws.SetReadLimit(64 << 20) // screenshots come back as one message
	c := &bidiConn{ws: ws, onEvent: onEvent, pending: make(map[int64]chan bidiMessage), done: make(chan struct{})}
	go c.read()
	if err := c.call(ctx, "session.new", map[string]any{"capabilities": map[string]any{}}, nil); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// read hands each message to the command waiting for it, or to onEvent,
// until the connection closes.
func (c *bidiConn) read() {
	defer close(c.done)
	for {
		_, data, err := c.ws.Read(context.Background())
		if err != nil {
			c.mu.Lock()
			c.err = fmt.Errorf("%w: %v", errBiDiClosed, err)
			for id, ch := range c.pending {
				close(ch)
				delete(c.pending, id)
			}
			c.mu.Unlock()
			return
		}
		var m bidiMessage
		if err := json.Unmarshal(data, &m); err != nil {
			continue // nothing to route it to
		}
		if m.ID == nil {
			if m.Type == "event" && c.onEvent != nil {
				c.onEvent(m.Method, m.Params)
			}
			continue
		}
		c.mu.Lock()
		ch := c.pending[*m.ID]
		delete(c.pending, *m.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- m // buffered: never blocks
		}
	}
}

// call sends a command and waits for its answer, decoding the result into
// result (unless nil).
func (c *bidiConn) call(ctx context.Context, method string, params, result any) error {
	if params == nil {
		params = struct{}{}
	}
	ch := make(chan bidiMessage, 1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return c.err
	}
	c.next++
	id := c.next
	c.pending[id] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}

	msg, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err != nil {
		forget()
		return fmt.Errorf("webdriver bidi %s: %w", method, err)
	}
	if err := c.ws.Write(ctx, websocket.MessageText, msg); err != nil {
		forget()
		return fmt.Errorf("webdriver bidi %s: %w", method, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			c.mu.Lock()
			defer c.mu.Unlock()
			return fmt.Errorf("%s: %w", method, c.err)
		}
		if m.Type == "error" {
			return &bidiError{Method: method, Code: m.Error, Message: m.Message}
		}
		if result == nil {
			return nil
		}
		if err := json.Unmarshal(m.Result, result); err != nil {
			return fmt.Errorf("webdriver bidi %s: result %s: %w", method, m.Result, err)
		}
		return nil
	case <-ctx.Done():
		forget()
		return fmt.Errorf("webdriver bidi %s: %w", method, ctx.Err())
	}
}

// close closes the WebSocket and waits for the reader to stop.
func (c *bidiConn) close() {
	c.ws.Close(websocket.StatusNormalClosure, "")
	<-c.done
}
