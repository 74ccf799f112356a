// Package udpsend measures how fast one CPU can send media-sized UDP
// packets on this machine, the physical limit under the SFU's forwarding
// figure (issue 16): one sendto per packet, sendmmsg batches
// (golang.org/x/net/ipv4 PacketConn.WriteBatch) across destinations, and
// UDP generic segmentation offload (a UDP_SEGMENT control message: one
// sendmsg per frame of equal-sized packets to one destination), each from
// one UDP socket, as the SFU's single-port transport would send. The
// program in ./udplimit runs the measurement with receivers in another
// process; this package holds the senders and receivers.
package udpsend

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// PacketSize is the size of every packet's UDP payload: a full video
// packet, as the SFU forwards them. FramePackets packets make a frame,
// sent to one destination in a row.
const (
	PacketSize   = 1200
	FramePackets = 5
)

// A Method is one way of sending: Batch messages per system call
// (sendmmsg when above 1, sendto or sendmsg otherwise), each message a
// whole frame handed to the kernel to segment if GSO is set, else one
// packet.
type Method struct {
	Name  string
	Batch int
	GSO   bool
}

// Methods are the ways the measurement compares.
var Methods = []Method{
	{Name: "sendto", Batch: 1},
	{Name: "sendmmsg 8", Batch: 8},
	{Name: "sendmmsg 32", Batch: 32},
	{Name: "sendmmsg 64", Batch: 64},
	{Name: "GSO", Batch: 1, GSO: true},
	{Name: "GSO + sendmmsg 32", Batch: 32, GSO: true},
}

// SyscallsPerPacket is how many system calls the method makes per packet.
func (m Method) SyscallsPerPacket() float64 {
	per := float64(m.Batch)
	if m.GSO {
		per *= FramePackets
	}
	return 1 / per
}

// Sender sends one frame to every destination per round, from one socket.
type Sender struct {
	conn    *net.UDPConn
	pc      *ipv4.PacketConn
	dests   []netip.AddrPort
	addrs   []net.Addr // the same, for ipv4.Message
	payload []byte     // a frame: FramePackets × PacketSize
	gsoOOB  []byte     // the UDP_SEGMENT control message
	msgs    []ipv4.Message
	bufs    [][1][]byte // one buffer per message, kept to avoid allocating
}

// NewSender opens a UDP socket on loopback to send to dests.
func NewSender(dests []netip.AddrPort) (*Sender, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	// A send buffer big enough for a batch of whole frames.
	_ = conn.SetWriteBuffer(4 << 20)
	s := &Sender{conn: conn, pc: ipv4.NewPacketConn(conn), dests: dests, payload: make([]byte, FramePackets*PacketSize)}
	for i := range s.payload {
		s.payload[i] = byte(i)
	}
	for _, d := range dests {
		s.addrs = append(s.addrs, net.UDPAddrFromAddrPort(d))
	}
	s.gsoOOB = make([]byte, unix.CmsgSpace(2))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&s.gsoOOB[0]))
	h.Level, h.Type = unix.SOL_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(s.gsoOOB[unix.CmsgLen(0):], PacketSize)
	const maxBatch = 1024
	s.msgs = make([]ipv4.Message, maxBatch)
	s.bufs = make([][1][]byte, maxBatch)
	for i := range s.msgs {
		s.msgs[i].Buffers = s.bufs[i][:]
	}
	return s, nil
}

// Close closes the socket.
func (s *Sender) Close() error { return s.conn.Close() }

// ErrGSORefused wraps the kernel's refusal of a UDP_SEGMENT send.
var ErrGSORefused = errors.New("UDP GSO refused")

// Round sends one frame (FramePackets packets) to every destination by
// method m and returns how many packets the kernel took.
func (s *Sender) Round(m Method) (int, error) {
	if m.Batch < 1 || m.Batch > len(s.msgs) {
		return 0, fmt.Errorf("batch %d is not between 1 and %d", m.Batch, len(s.msgs))
	}
	switch {
	case m.Batch == 1 && !m.GSO:
		for _, d := range s.dests {
			for k := 0; k < FramePackets; k++ {
				if _, err := s.conn.WriteToUDPAddrPort(s.payload[k*PacketSize:(k+1)*PacketSize], d); err != nil {
					return 0, err
				}
			}
		}
		return len(s.dests) * FramePackets, nil
	case m.Batch == 1:
		for _, d := range s.dests {
			if _, _, err := s.conn.WriteMsgUDPAddrPort(s.payload, s.gsoOOB, d); err != nil {
				return 0, fmt.Errorf("%w: %v", ErrGSORefused, err)
			}
		}
		return len(s.dests) * FramePackets, nil
	}
	// Batches: the messages in frame order, Batch to a system call.
	per := FramePackets
	if m.GSO {
		per = 1
	}
	total := len(s.dests) * per
	for start := 0; start < total; {
		n := min(m.Batch, total-start)
		for i := 0; i < n; i++ {
			j := start + i
			msg := &s.msgs[i]
			msg.Addr = s.addrs[j/per]
			if m.GSO {
				msg.Buffers[0] = s.payload
				msg.OOB = s.gsoOOB
			} else {
				k := j % per
				msg.Buffers[0] = s.payload[k*PacketSize : (k+1)*PacketSize]
				msg.OOB = nil
			}
		}
		sent, err := s.pc.WriteBatch(s.msgs[:n], 0)
		if err != nil {
			if m.GSO {
				return 0, fmt.Errorf("%w: %v", ErrGSORefused, err)
			}
			return 0, err
		}
		start += sent
	}
	return len(s.dests) * FramePackets, nil
}

// Receivers are UDP sockets on loopback that read everything sent to
// them (recvmmsg, 64 at a time) and count the packets.
type Receivers struct {
	conns   []*net.UDPConn
	packets atomic.Int64
	wg      sync.WaitGroup
}

// Receive opens n sockets on 127.0.0.1, each with a large receive buffer,
// and reads them until Close.
func Receive(n int) (*Receivers, error) {
	r := &Receivers{}
	for i := 0; i < n; i++ {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			r.Close()
			return nil, err
		}
		_ = c.SetReadBuffer(4 << 20)
		r.conns = append(r.conns, c)
	}
	for _, c := range r.conns {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			pc := ipv4.NewPacketConn(c)
			ms := make([]ipv4.Message, 64)
			for i := range ms {
				ms[i].Buffers = [][]byte{make([]byte, 2048)}
			}
			for {
				n, err := pc.ReadBatch(ms, 0)
				if err != nil {
					return
				}
				r.packets.Add(int64(n))
			}
		}()
	}
	return r, nil
}

// Addrs are the receivers' addresses.
func (r *Receivers) Addrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, c := range r.conns {
		out = append(out, c.LocalAddr().(*net.UDPAddr).AddrPort())
	}
	return out
}

// Packets is how many packets arrived so far.
func (r *Receivers) Packets() int64 { return r.packets.Load() }

// Close closes the sockets and waits for the readers.
func (r *Receivers) Close() {
	for _, c := range r.conns {
		c.Close()
	}
	r.wg.Wait()
}

// PinProcess moves every thread of this process to cpu; threads started
// later inherit it from the thread that starts them.
func PinProcess(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("pin to CPU %d: %w", cpu, err)
		}
	}
	return nil
}
