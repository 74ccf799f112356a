package sfu

import (
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"
)

// frame is an RFC 4571 frame of writer w's packet i: its length, then
// the writer, the index, and bytes that say both, so that a frame read
// from the wrong offset cannot pass for one.
func frame(w byte, i uint32, size int) []byte {
	b := make([]byte, 2+size)
	binary.BigEndian.PutUint16(b, uint16(size))
	b[2] = w
	binary.BigEndian.PutUint32(b[3:], i)
	for k := 7; k < len(b); k++ {
		b[k] = w ^ byte(i) ^ byte(k)
	}
	return b
}

// TestTCPConnWritesNeverWaitAndKeepFramesWhole: two goroutines write
// frames to an accepted ICE-TCP connection whose peer does not read; no
// write waits for it (the kernel's buffers fill, then the queue, then
// frames are dropped), and when the peer reads again everything it gets
// is whole frames, each writer's in order, the last ones written included.
func TestTCPConnWritesNeverWaitAndKeepFramesWhole(t *testing.T) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	l := newTCPListener(ln, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { l.Close() })
	peer, err := net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })

	// Sizes that wrap the queue at odd offsets and leave partial writes.
	sizes := []int{1200, 37, 900, 1500, 5}
	const perWriter = 3000 // about 4 MB each: more than the kernel and queue hold
	var wg sync.WaitGroup
	slowest := make([]time.Duration, 2)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range uint32(perWriter) {
				f := frame(byte(w+1), i, sizes[int(i)%len(sizes)])
				start := time.Now()
				n, err := c.Write(f)
				slowest[w] = max(slowest[w], time.Since(start))
				if err != nil || n != len(f) {
					t.Errorf("writer %d, frame %d: wrote %d of %d: %v", w, i, n, len(f), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// A bound, not a timing: a write that waited for the peer would wait
	// until the test's end.
	if s := max(slowest[0], slowest[1]); s > time.Second {
		t.Errorf("a write to a connection whose peer does not read took %v", s)
	}
	if l.dropped.Load() == 0 {
		t.Fatalf("nothing dropped: the test wrote less than the kernel and the queue hold")
	}

	// The peer reads again; the writers' last frames, written after it
	// did, must arrive.
	done := make(chan struct{})
	var last [2]uint32
	var got [2]int
	go func() {
		defer close(done)
		head := make([]byte, 2)
		body := make([]byte, 1<<16)
		next := [2]int64{-1, -1}
		for {
			if _, err := io.ReadFull(peer, head); err != nil {
				t.Errorf("reading a frame's length: %v", err)
				return
			}
			n := int(binary.BigEndian.Uint16(head))
			if _, err := io.ReadFull(peer, body[:n]); err != nil {
				t.Errorf("reading a frame: %v", err)
				return
			}
			w, i := body[0], binary.BigEndian.Uint32(body[1:])
			if w != 1 && w != 2 || n != sizes[int(i)%len(sizes)] {
				t.Errorf("a frame of %d bytes from writer %d, index %d: not one that was written", n, w, i)
				return
			}
			for k := 5; k < n; k++ {
				if body[k] != w^byte(i)^byte(k+2) {
					t.Errorf("writer %d's frame %d is corrupt at byte %d", w, i, k)
					return
				}
			}
			if int64(i) <= next[w-1] {
				t.Errorf("writer %d's frame %d after its frame %d", w, i, next[w-1])
				return
			}
			next[w-1] = int64(i)
			got[w-1]++
			if i == perWriter+9 {
				last[w-1] = i
				if last[0] != 0 && last[1] != 0 {
					return
				}
			}
		}
	}()
	for w := range 2 {
		for i := uint32(perWriter); i < perWriter+10; i++ {
			// After the reader has emptied the queue, nothing is dropped:
			// wait for room, as a UDP sender's next packets find it.
			deadline := time.Now().Add(10 * time.Second)
			for {
				c.(*tcpConn).mu.Lock()
				room := len(c.(*tcpConn).q) - c.(*tcpConn).n
				c.(*tcpConn).mu.Unlock()
				if room > 2000 || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if _, err := c.Write(frame(byte(w+1), i, sizes[int(i)%len(sizes)])); err != nil {
				t.Fatal(err)
			}
		}
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("the frames written after the peer read again never arrived (got %v frames of each writer)", got)
	}
	t.Logf("%d frames each written, %d dropped; the peer read %v, whole and in order", perWriter+10, l.dropped.Load(), got)
}
