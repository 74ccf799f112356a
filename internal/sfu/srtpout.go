package sfu

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/pion/dtls/v3"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// SRTP in place: a participant's forwarded RTP is encrypted by the SFU
// itself, not by pion's write chain (interceptors, the SRTP session's
// buffer pool and lock), and written below it: while ICE's selected
// pair is a UDP pair on one of the SFU's batching sockets, encrypted
// straight into the batch queue for that socket and the pair's remote
// address (the direct path, direct.go); otherwise (ICE-TCP, a relayed
// pair, ICE not connected, the plain send path) into a buffer of the
// peer's and written to the DTLS transport's SRTP endpoint (pion's mux
// endpoint: ICE's selected pair, then the socket). RTCP keeps pion's
// path both ways.
//
// pion/webrtc does not expose a transport's SRTP keys. They are derived
// here as pion derives them (RFC 5764 key export from the DTLS
// connection, with the write key of the DTLS role this end took), from
// the DTLSTransport's unexported DTLS connection, read by reflection,
// once per PeerConnection when its transport first comes up; the
// outbound Cryptex mode (RFC 9335), which pion negotiates when the
// other end offers it and a renegotiation may change, is read at every
// packet when pion's lock is free (never waited for: see write) and
// followed. checkPionSRTP says at start
// whether pion's fields are still what this code reads
// (TestPionSRTPFieldsAreThere fails if not, so that an upgrade is
// noticed); if they are not, every peer keeps pion's path, and a peer
// whose keys cannot be had keeps it too.
//
// Nonces: SRTP's keystream (AES-CM) or GCM nonce is made of the SSRC and
// the packet index (rollover counter and sequence number) under one key.
// Each peer has one srtp.Context (as pion's session has one), made
// before the peer's first RTP packet and used for all of its RTP, first
// sends and retransmissions alike, for the life of its DTLS association,
// so each SSRC's rollover counter is tracked in one place; pion's
// session writes no RTP for such a peer at all (its senders' writers are
// never called), so no packet index is ever encrypted under two
// counters. A retransmission is the same packet under the same index
// (same header, same payload), so encrypting it again gives the same
// ciphertext.
type srtpOut struct {
	// state is outPending until the transport comes up, then outOwn or
	// outPion for good.
	state atomic.Int32

	mu  sync.Mutex // guards the fields below: one write at a time
	ctx *srtp.Context
	w   io.Writer
	hdr rtp.Header // scratch for EncryptRTP's parse of the header
	// buf is where a packet is encrypted for pion's path (w), made at
	// its first use: on the direct path packets are encrypted in the
	// batch queue itself.
	buf *[srtpOutSize]byte
	// pion's outbound Cryptex mode (RFC 9335), which a renegotiation
	// may change, read under pion's lock at each packet when that lock
	// is free, and the mode ctx was last set to. pion's session changes its own under the
	// same lock.
	dtLock  *sync.RWMutex
	cryptex *srtp.CryptexMode
	mode    srtp.CryptexMode

	// direct, when not nil, is ICE's selected pair as the SFU's own
	// socket and the pair's remote address (direct.go): packets are
	// encrypted into the batch queue for it, skipping pion's SRTP
	// endpoint, mux and ICE connection. follow serializes its updates.
	direct atomic.Pointer[directTarget]
	follow direct
	// directSent counts the packets sent on the direct path.
	directSent atomic.Uint64

	// done ends the sender reports' loop.
	done      chan struct{}
	closeOnce sync.Once
	// startOnce: the choice is made once (the transport may come up
	// again after a disconnection; a second context would start the
	// rollover counters again).
	startOnce sync.Once
}

const (
	outPending = iota // transport not up yet: RTP is dropped, as pion drops it
	outOwn            // the SFU encrypts and writes
	outPion           // pion's write chain (no access to the keys, or asked for)
)

// srtpOutSize holds the largest packet the SFU forwards (a 1,500-byte
// packet read from a publisher, its header rewritten with at most an
// audio level extension) with the longest SRTP trailer (a 16-byte tag
// and a 4-byte rollover counter).
const srtpOutSize = 1600

func newSRTPOut() *srtpOut {
	return &srtpOut{done: make(chan struct{})}
}

// start decides, once the peer's transport is up, who encrypts its RTP,
// and starts its sender reports. Called before the peer is marked
// connected: no DownTrack writes before that.
func (o *srtpOut) start(p *Peer, own bool) {
	o.startOnce.Do(func() { o.choose(p, own) })
}

func (o *srtpOut) choose(p *Peer, own bool) {
	state := int32(outPion)
	if own {
		own, err := ownSRTP(p.pc.SCTP().Transport())
		if err != nil {
			p.log.Info("sfu: forwarded media is encrypted by pion for this peer", "why", err.Error())
		} else {
			o.use(own)
			state = outOwn
		}
	}
	if o.state.CompareAndSwap(outPending, state) {
		go o.reportLoop(p)
	}
}

// use has o encrypt with k from now on.
func (o *srtpOut) use(k ownKeys) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ctx, o.w, o.dtLock, o.cryptex, o.mode = k.ctx, k.w, k.lock, k.cryptex, k.mode
	// Room for what EncryptRTP parses, so that it never allocates.
	o.hdr.Extensions = make([]rtp.Extension, 0, 4)
	o.hdr.CSRC = make([]uint32, 0, 15)
}

// close ends the sender reports.
func (o *srtpOut) close() { o.closeOnce.Do(func() { close(o.done) }) }

// write encrypts the packet h, payload into the peer's buffer and writes
// it to the SRTP endpoint. It reports whether it was written.
func (o *srtpOut) write(h *rtp.Header, payload []byte) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	// pion's lock is only tried: pion holds it as a writer while it
	// stops the transport, and that waits for the RTCP read loop, which
	// hands NACKs to DownTrack.retransmit, which needs the fan-out lock
	// this write is called under (a cycle, and a frozen track for the
	// whole meeting); every RTCP write takes it as a writer too. While it
	// is held the mode last read stands: it changes only at a
	// renegotiation, and one packet in the old mode is what pion's own
	// session sends around such a change.
	mode := o.mode
	if o.dtLock.TryRLock() {
		mode = *o.cryptex
		o.dtLock.RUnlock()
	}
	if mode != o.mode {
		if err := o.ctx.UpdateOptions(srtp.Cryptex(mode)); err != nil {
			return false
		}
		o.mode = mode
	}
	// The trailer needs 20 bytes at most (tag and rollover counter),
	// Cryptex 4 more (an empty extension header).
	size := h.MarshalSize() + len(payload) + int(h.PaddingSize)
	if size+24 > srtpOutSize {
		return false
	}
	if t := o.direct.Load(); t != nil {
		// Encrypted in the batch queue's arena, queued there for ICE's
		// selected pair: no copy, no per-peer buffer.
		room, opened := t.c.b.reserve(srtpOutSize)
		n, ok := o.encrypt(h, payload, room)
		if !ok {
			t.c.b.cancel(opened)
			return false
		}
		t.c.b.commit(t.c, t.dst, n, opened)
		o.directSent.Add(1)
		return true
	}
	if o.buf == nil {
		o.buf = new([srtpOutSize]byte)
	}
	n, ok := o.encrypt(h, payload, o.buf[:])
	if !ok {
		return false
	}
	_, err := o.w.Write(o.buf[:n])
	return err == nil
}

// encrypt marshals the packet h, payload into buf (at least
// srtpOutSize bytes, its capacity what the packet may take) and
// encrypts it there, returning its encrypted length.
func (o *srtpOut) encrypt(h *rtp.Header, payload []byte, buf []byte) (int, bool) {
	pad := int(h.PaddingSize)
	n, err := h.MarshalTo(buf)
	if err != nil {
		return 0, false
	}
	n += copy(buf[n:], payload)
	if pad > 0 {
		// Padding (RFC 3550): zeros, the last byte its length.
		clear(buf[n : n+pad])
		n += pad
		buf[n-1] = byte(pad)
	}
	// In place: the trailer goes after the packet in the same buffer.
	enc, err := o.ctx.EncryptRTP(buf[:n], buf[:n], &o.hdr)
	if err != nil || len(enc) > len(buf) || &enc[0] != &buf[0] {
		return 0, false
	}
	return len(enc), true
}

// errPionChanged: pion's DTLSTransport no longer has what ownSRTP reads.
var errPionChanged = errors.New("pion's DTLSTransport is not as this SFU knows it (pion upgraded?)")

// checkPionSRTP says whether pion's DTLSTransport and dtls.State still
// have the unexported fields ownSRTP reads, with the types it reads
// them as.
func checkPionSRTP() error {
	t := reflect.TypeOf(webrtc.DTLSTransport{})
	want := []struct {
		name string
		ok   func(reflect.Type) bool
	}{
		{"lock", func(f reflect.Type) bool { return f == reflect.TypeOf(sync.RWMutex{}) }},
		{"conn", func(f reflect.Type) bool { return f == reflect.TypeOf((*dtls.Conn)(nil)) }},
		{"localCryptexMode", func(f reflect.Type) bool { return f == reflect.TypeOf(srtp.CryptexMode(0)) }},
		{"srtpEndpoint", func(f reflect.Type) bool {
			return f.Kind() == reflect.Pointer && f.Implements(reflect.TypeOf((*io.Writer)(nil)).Elem())
		}},
	}
	for _, w := range want {
		f, ok := t.FieldByName(w.name)
		if !ok || !w.ok(f.Type) {
			return fmt.Errorf("%w: field %s", errPionChanged, w.name)
		}
	}
	if f, ok := reflect.TypeOf(dtls.State{}).FieldByName("isClient"); !ok || f.Type.Kind() != reflect.Bool {
		return fmt.Errorf("%w: dtls.State has no isClient", errPionChanged)
	}
	return nil
}

// ownKeys is what ownSRTP returns: the context, the writer below
// pion's SRTP session, and where pion keeps the outbound Cryptex mode.
type ownKeys struct {
	ctx     *srtp.Context
	w       io.Writer
	lock    *sync.RWMutex
	cryptex *srtp.CryptexMode
	mode    srtp.CryptexMode
}

// ownSRTP makes the SRTP context that encrypts what this end of dt
// sends, with pion's keys and Cryptex mode, and returns it with dt's
// SRTP endpoint (the writer pion's SRTP session writes to). It fails
// where pion's fields are not there; the key material is never logged
// nor put in an error.
func ownSRTP(dt *webrtc.DTLSTransport) (ownKeys, error) {
	var k ownKeys
	if dt == nil {
		return k, errors.New("no DTLS transport")
	}
	if err := checkPionSRTP(); err != nil {
		return k, err
	}
	v := reflect.ValueOf(dt).Elem()
	field := func(name string) unsafe.Pointer { return unsafe.Pointer(v.FieldByName(name).UnsafeAddr()) }
	k.lock = (*sync.RWMutex)(field("lock"))
	k.cryptex = (*srtp.CryptexMode)(field("localCryptexMode"))
	k.lock.RLock()
	defer k.lock.RUnlock()
	k.mode = *k.cryptex
	ep := v.FieldByName("srtpEndpoint")
	if ep.IsNil() {
		return k, errors.New("no SRTP endpoint")
	}
	w, ok := reflect.NewAt(ep.Type(), unsafe.Pointer(ep.UnsafeAddr())).Elem().Interface().(io.Writer)
	if !ok {
		return k, fmt.Errorf("%w: srtpEndpoint", errPionChanged)
	}
	d, err := PionDTLS(dt)
	if err != nil {
		return k, err
	}
	// The DTLS role this end took is the one pion derived its keys
	// for (DTLSTransport.startSRTP: client or server write key).
	keys, err := d.Keys(d.Client)
	if err != nil {
		return k, err
	}
	defer clearKeys(&keys)
	cfg := srtp.Config{Profile: d.Profile, Keys: keys}
	var opts []srtp.ContextOption
	if k.mode != srtp.CryptexModeDisabled {
		opts = append(opts, srtp.Cryptex(k.mode))
	}
	ctx, err := srtp.CreateContext(cfg.Keys.LocalMasterKey, cfg.Keys.LocalMasterSalt, cfg.Profile, opts...)
	if err != nil {
		return k, fmt.Errorf("SRTP context: %w", err)
	}
	k.ctx, k.w = ctx, w
	return k, nil
}

// DTLSSRTP is what a pion DTLS transport's handshake gave SRTP: the
// protection profile, the DTLS role this end took, and the connection
// state the keys are exported from (RFC 5764). It holds the
// association's master secret: never log it nor keep it longer than
// needed.
type DTLSSRTP struct {
	Profile srtp.ProtectionProfile
	// Client: this end took the DTLS client role (pion derives its
	// own SRTP keys for that role).
	Client bool
	state  dtls.State
}

// PionDTLS reads what SRTP needs of dt's DTLS association from pion's
// unexported fields (pion exports neither the connection nor the keys):
// the one place the SFU (ownSRTP) and the load generator's light
// receiver do so. It fails where the fields are not as this code knows
// them (checkPionSRTP; TestPionSRTPFieldsAreThere fails then) or DTLS
// is not up. It does not take pion's lock: pion sets the connection
// before the transport reports itself connected and then leaves it.
func PionDTLS(dt *webrtc.DTLSTransport) (DTLSSRTP, error) {
	var d DTLSSRTP
	if dt == nil {
		return d, errors.New("no DTLS transport")
	}
	if err := checkPionSRTP(); err != nil {
		return d, err
	}
	f := reflect.ValueOf(dt).Elem().FieldByName("conn")
	conn := *(**dtls.Conn)(unsafe.Pointer(f.UnsafeAddr()))
	if conn == nil {
		return d, errors.New("DTLS is not up")
	}
	profile, ok := conn.SelectedSRTPProtectionProfile()
	if !ok {
		return d, errors.New("no SRTP protection profile negotiated")
	}
	state, ok := conn.ConnectionState()
	if !ok {
		return d, errors.New("no DTLS connection state")
	}
	d.Profile, d.state = srtp.ProtectionProfile(profile), state
	d.Client = reflect.ValueOf(&d.state).Elem().FieldByName("isClient").Bool()
	return d, nil
}

// Keys are the SRTP session keys this end has if it is the DTLS client
// (asClient) or the server: its write key is the client's or the
// server's. The key material is never put in an error.
func (d *DTLSSRTP) Keys(asClient bool) (srtp.SessionKeys, error) {
	cfg := srtp.Config{Profile: d.Profile}
	if err := cfg.ExtractSessionKeysFromDTLS(&d.state, asClient); err != nil {
		return srtp.SessionKeys{}, fmt.Errorf("SRTP keys: %w", err)
	}
	return cfg.Keys, nil
}

// clearKeys overwrites k's key material once contexts are made from it.
func clearKeys(k *srtp.SessionKeys) {
	for _, b := range [][]byte{k.LocalMasterKey, k.LocalMasterSalt, k.RemoteMasterKey, k.RemoteMasterSalt} {
		clear(b)
	}
}

// reportInterval is how often a peer's sender reports go out, as pion's
// sender-report interceptor sends them.
const reportInterval = time.Second

// reportLoop sends the peer's sender reports every reportInterval until
// the peer closes: one per bound DownTrack that has sent something,
// counting what the SFU wrote whoever encrypted it.
func (o *srtpOut) reportLoop(p *Peer) {
	t := time.NewTicker(reportInterval)
	defer t.Stop()
	var pkts []rtcp.Packet
	for {
		select {
		case <-o.done:
			return
		case now := <-t.C:
			pkts = pkts[:0]
			if l := p.downList.Load(); l != nil {
				for _, d := range *l {
					if b := d.binding.Load(); b != nil {
						if sr := b.report(now); sr != nil {
							pkts = append(pkts, sr)
						}
					}
				}
			}
			// A few reports to a compound packet, well within a
			// datagram (28 bytes each).
			for len(pkts) > 0 {
				n := min(len(pkts), 16)
				if err := p.pc.WriteRTCP(pkts[:n]); err != nil && p.pc.ConnectionState() == webrtc.PeerConnectionStateClosed {
					return
				}
				pkts = pkts[n:]
			}
		}
	}
}

// sentCounts are what a binding has sent, for its sender reports.
// Written by binding.write (one at a time, under the UpTrack's fan-out
// lock), read by the report loop.
type sentCounts struct {
	packets, octets atomic.Uint32
	// clock is the RTP timestamp of the newest frame (high 32 bits)
	// and when its first packet was sent, in milliseconds since base
	// (low 32 bits): one word, so that a report never pairs one frame's
	// timestamp with another's time.
	clock atomic.Uint64
	base  time.Time // set when the binding is made
	// Only binding.write touches these.
	lastSeq uint16
	started bool
}

// note counts a packet sent with sequence number seq, timestamp ts and
// payload bytes of payload. The newest packet's timestamp, with the
// time its frame began to be sent, maps RTP time to wall-clock time.
func (c *sentCounts) note(seq uint16, ts uint32, payload int) {
	// The clock first: a report that sees a packet counted sees its
	// clock.
	if !c.started || int16(seq-c.lastSeq) > 0 { // not a retransmission nor late
		if !c.started || uint32(c.clock.Load()>>32) != ts { // a new frame
			ms := uint32(time.Since(c.base).Milliseconds())
			c.clock.Store(uint64(ts)<<32 | uint64(ms))
		}
		c.lastSeq, c.started = seq, true
	}
	c.packets.Add(1)
	c.octets.Add(uint32(payload))
}

// report is the binding's sender report at now, nil before it has sent
// anything.
func (b *binding) report(now time.Time) *rtcp.SenderReport {
	c := &b.sent
	n := c.packets.Load()
	if n == 0 {
		return nil
	}
	clock := c.clock.Load()
	ts, at := uint32(clock>>32), uint32(clock)
	elapsed := uint32(now.Sub(c.base).Milliseconds()) - at
	return &rtcp.SenderReport{
		SSRC:        b.ssrc,
		NTPTime:     ntpTime(now),
		RTPTime:     ts + uint32(uint64(elapsed)*uint64(b.clockRate)/1000),
		PacketCount: n,
		OctetCount:  c.octets.Load(),
	}
}

// ntpTime is t as a 64-bit NTP timestamp (RFC 3550).
func ntpTime(t time.Time) uint64 {
	const unixToNTP = 2208988800 // seconds from 1900 to 1970
	secs := uint64(t.Unix()) + unixToNTP
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return secs<<32 | frac
}
