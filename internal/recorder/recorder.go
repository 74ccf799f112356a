// Package recorder records, on the server, a meeting that is not
// end-to-end encrypted (docs/security.md, "Recording on the server"): a
// local sfu.Viewer receives what a WHEP viewer would (the active
// speaker's voice, and a shared screen or else the speaker's camera), and
// the recorder writes it as WebM (VP8 and Opus, ebml-go) into the
// recordings store, in chunks as it goes, as a recording of kind "server"
// that its starter's account lists and plays like any other. Nothing is
// decoded or mixed: two people talking at once are heard one at a time.
//
// A recording is bounded: it ends at MaxDuration, or when the next chunk
// would pass MaxBytes, whatever its starter does; and it ends with its
// room. The live room (internal/live, recording.go) decides who may start
// one and refuses an end-to-end encrypted meeting; this package trusts
// its caller on that and only records.
package recorder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/sfu"
	"github.com/kaigi-meet/kaigi/internal/store"
	"github.com/pion/rtp"
)

// Store is what the recorder needs of the store (internal/store).
type Store interface {
	CreateRecording(ctx context.Context, r store.Recording, readers []store.RecordingReader) error
	PutRecordingChunk(ctx context.Context, id, recorderID string, n int, data []byte, maxBytes int64) error
	FinishRecording(ctx context.Context, id, recorderID string, chunks int, manifest []byte, at time.Time) error
	DeleteRecording(ctx context.Context, id, recorderID string) error
}

// Defaults of Options.
const (
	// DefaultMaxDuration bounds one server recording.
	DefaultMaxDuration = 4 * time.Hour
	// DefaultMaxBytes bounds one server recording's size, as the API
	// bounds a browser's (httpapi.DefaultMaxRecordingBytes).
	DefaultMaxBytes = 4 << 30
	// DefaultChunkBytes and DefaultChunkEvery: a chunk is stored once this
	// much is written, or this long after the last.
	DefaultChunkBytes = 1 << 20
	DefaultChunkEvery = 5 * time.Second
	// queueLen bounds the packets waiting for the muxer; beyond it
	// packets are dropped (a video frame so broken is dropped whole, and
	// a key frame asked for).
	queueLen = 2048
	// storeTimeout bounds each store write.
	storeTimeout = 30 * time.Second
	// DefaultMaxRunning bounds the recordings under way on one server,
	// DefaultMaxPerAccount those made for one account: each costs a core's
	// share of CPU, a few MB of memory and up to MaxBytes of store.
	DefaultMaxRunning    = 32
	DefaultMaxPerAccount = 2
)

// Options configure a Service.
type Options struct {
	Store  Store
	Logger *slog.Logger
	// MaxDuration, MaxBytes, ChunkBytes, ChunkEvery: zero takes the
	// defaults above.
	MaxDuration time.Duration
	MaxBytes    int64
	ChunkBytes  int
	ChunkEvery  time.Duration
	// MaxRunning and MaxPerAccount bound the recordings under way (those
	// starting included) on the server and for one account; zero takes
	// the defaults above.
	MaxRunning, MaxPerAccount int
	// Ready, if set, is told of each recording finished with something in
	// it (the recording.ready webhook).
	Ready func(store.Recording)
	// Audit, if set, records each start (by its account) and end (by the
	// server) in the audit log.
	Audit func(ctx context.Context, e audit.Entry) error
}

// Service starts server recordings.
type Service struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	running  map[*Recording]struct{}
	starting int
	byUser   map[string]int // running and starting, by account
	closed   bool
}

// ErrClosed: the service is closed (the server stops).
var ErrClosed = errors.New("server recording: closed")

// ErrBusy: the server, or the account, records as many meetings as it may.
var ErrBusy = errors.New("server recording: too many under way")

// New returns a Service.
func New(opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxDuration <= 0 {
		opts.MaxDuration = DefaultMaxDuration
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.ChunkBytes <= 0 {
		opts.ChunkBytes = DefaultChunkBytes
	}
	if opts.ChunkEvery <= 0 {
		opts.ChunkEvery = DefaultChunkEvery
	}
	if opts.MaxRunning <= 0 {
		opts.MaxRunning = DefaultMaxRunning
	}
	if opts.MaxPerAccount <= 0 {
		opts.MaxPerAccount = DefaultMaxPerAccount
	}
	return &Service{opts: opts, log: opts.Logger, running: map[*Recording]struct{}{}, byUser: map[string]int{}}
}

// Close stops every recording under way and waits until each is stored,
// before the store closes; no recording starts after it.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	recs := make([]*Recording, 0, len(s.running))
	for r := range s.running {
		recs = append(recs, r)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range recs {
		wg.Go(r.Stop)
	}
	wg.Wait()
}

// Why a recording ended (Recording.Reason).
const (
	EndStopped  = "stopped"
	EndDuration = "duration_limit"
	EndSize     = "size_limit"
	EndFailed   = "failed"
)

// Recording is one server recording under way.
type Recording struct {
	ID string

	s       *Service
	rec     store.Recording
	viewer  *sfu.Viewer
	queue   chan packet
	stop    chan struct{}
	done    chan struct{}
	ended   func(reason string)
	dropped atomic.Uint64

	stopOnce sync.Once
	// Set before done closes.
	reason string
	stats  Stats
}

type packet struct {
	video bool
	p     *rtp.Packet
	at    time.Time
}

// Start records the meeting whose SFU room is router, as userID's
// recording of meetingID. ended, if set, is called (on the recording's
// goroutine, once) when the recording has ended by itself, at a limit
// or a failure, not when Stop ended it.
func (s *Service) Start(ctx context.Context, meetingID, userID string, router *sfu.Router, ended func(reason string)) (_ *Recording, err error) {
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil, ErrClosed
	case len(s.running)+s.starting >= s.opts.MaxRunning || s.byUser[userID] >= s.opts.MaxPerAccount:
		s.mu.Unlock()
		return nil, ErrBusy
	}
	s.starting++
	s.byUser[userID]++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.starting--
		if err != nil {
			s.release(userID)
		}
		s.mu.Unlock()
	}()
	rec := store.Recording{ID: store.NewRecordingID(), MeetingID: meetingID, RecorderID: userID, StartedAt: time.Now(), Kind: store.KindServer}
	if err := s.opts.Store.CreateRecording(ctx, rec, nil); err != nil {
		return nil, fmt.Errorf("create server recording: %w", err)
	}
	r := &Recording{ID: rec.ID, s: s, rec: rec, queue: make(chan packet, queueLen), stop: make(chan struct{}), done: make(chan struct{}), ended: ended}
	v, err := router.AddLocalViewer("server-recorder", r.sink)
	if err != nil {
		_ = s.opts.Store.DeleteRecording(context.WithoutCancel(ctx), rec.ID, userID)
		return nil, fmt.Errorf("server recording viewer: %w", err)
	}
	r.viewer = v
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		v.Close()
		_ = s.opts.Store.DeleteRecording(context.WithoutCancel(ctx), rec.ID, userID)
		return nil, ErrClosed
	}
	s.running[r] = struct{}{}
	s.mu.Unlock()
	s.audit(ctx, audit.Entry{ActorKind: audit.ActorUser, ActorID: userID, Action: audit.ServerRecordingStarted,
		SubjectKind: audit.SubjectMeeting, SubjectID: meetingID, Details: map[string]string{"recording": rec.ID}})
	go r.run()
	s.log.Info("server recording started", "recording", rec.ID, "meeting", meetingID, "by", userID)
	return r, nil
}

// release forgets one of userID's recordings; s.mu is held.
func (s *Service) release(userID string) {
	if s.byUser[userID]--; s.byUser[userID] <= 0 {
		delete(s.byUser, userID)
	}
}

// audit appends e to the audit log, if there is one.
func (s *Service) audit(ctx context.Context, e audit.Entry) {
	if s.opts.Audit == nil {
		return
	}
	if err := s.opts.Audit(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("server recording audit", "action", e.Action, "err", err)
	}
}

// sink copies a packet from the SFU into the queue, or drops it.
func (r *Recording) sink(video bool, h *rtp.Header, payload []byte) {
	p := &rtp.Packet{Header: *h, Payload: append([]byte(nil), payload...)}
	p.Header.Extensions, p.Header.Extension, p.Header.CSRC = nil, false, nil
	select {
	case r.queue <- packet{video: video, p: p, at: time.Now()}:
	default:
		r.dropped.Add(1)
	}
}

// Stop ends the recording and waits until it is stored.
func (r *Recording) Stop() {
	r.stopOnce.Do(func() { close(r.stop) })
	<-r.done
}

// Done is closed once the recording has ended and is stored.
func (r *Recording) Done() <-chan struct{} { return r.done }

// Result is why the recording ended and what was written; valid once
// Done is closed.
func (r *Recording) Result() (string, Stats) {
	<-r.done
	return r.reason, r.stats
}

func (r *Recording) run() {
	o := r.s.opts
	out := &chunker{}
	mux := newMuxer(out, r.rec.StartedAt, r.viewer.RequestKeyframe)
	limit := time.NewTimer(o.MaxDuration)
	defer limit.Stop()
	tick := time.NewTicker(o.ChunkEvery)
	defer tick.Stop()
	var n int
	var stored int64
	reason := ""
	// flush stores what the muxer wrote, in chunks of at most ChunkBytes;
	// all: even after the recording ended (its last bytes).
	flush := func(all bool) {
		for reason == "" || all {
			data := out.take(o.ChunkBytes)
			if data == nil {
				return
			}
			if stored+int64(len(data)) > o.MaxBytes {
				reason = EndSize
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
			err := o.Store.PutRecordingChunk(ctx, r.ID, r.rec.RecorderID, n, data, o.MaxBytes)
			cancel()
			if errors.Is(err, store.ErrRecordingFull) {
				reason = EndSize
				return
			}
			if err != nil {
				r.s.log.Error("server recording chunk", "recording", r.ID, "chunk", n, "err", err)
				reason = EndFailed
				return
			}
			n++
			stored += int64(len(data))
		}
	}
loop:
	for reason == "" {
		select {
		case p := <-r.queue:
			mux.push(p.video, p.p, p.at)
			if out.size() >= o.ChunkBytes {
				flush(false)
			}
		case <-tick.C:
			flush(false)
		case <-limit.C:
			reason = EndDuration
		case <-r.stop:
			reason = EndStopped
			break loop
		}
		if mux.err != nil && reason == "" {
			r.s.log.Error("server recording mux", "recording", r.ID, "err", mux.err)
			reason = EndFailed
		}
	}
	r.viewer.Close()
	stats, err := mux.close()
	if reason != EndSize && reason != EndFailed {
		flush(true)
	}
	r.reason, r.stats = reason, stats
	r.finish(n, stored, stats, err)
	if reason != EndStopped && r.ended != nil {
		r.ended(reason)
	}
	r.s.mu.Lock()
	delete(r.s.running, r)
	r.s.release(r.rec.RecorderID)
	r.s.mu.Unlock()
	close(r.done)
}

// manifest describes a server recording (store.Recording.Manifest): not
// encrypted, for its player and list.
type manifest struct {
	Kind          string `json:"kind"`
	MimeType      string `json:"mimeType"`
	DurationMs    int64  `json:"durationMs"`
	Width         int    `json:"width"`
	Height        int    `json:"height"`
	VideoFrames   int    `json:"videoFrames"`
	AudioFrames   int    `json:"audioFrames"`
	DroppedFrames int    `json:"droppedFrames"`
	Ended         string `json:"ended"`
}

// finish closes the recording in the store, or deletes it if nothing was
// recorded, and says it is ready.
func (r *Recording) finish(chunks int, size int64, stats Stats, muxErr error) {
	o := r.s.opts
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	log := r.s.log.With("recording", r.ID, "meeting", r.rec.MeetingID)
	r.s.audit(ctx, audit.Entry{ActorKind: audit.ActorSystem, Action: audit.ServerRecordingEnded, SubjectKind: audit.SubjectMeeting, SubjectID: r.rec.MeetingID,
		Details: map[string]string{"recording": r.ID, "ended": r.reason, "seconds": strconv.Itoa(int(stats.Duration.Seconds()))}})
	if chunks == 0 {
		log.Info("server recording empty, deleted", "err", muxErr)
		if err := o.Store.DeleteRecording(ctx, r.ID, r.rec.RecorderID); err != nil {
			log.Error("delete empty server recording", "err", err)
		}
		return
	}
	m, _ := json.Marshal(manifest{Kind: store.KindServer, MimeType: `video/webm; codecs="vp8, opus"`, DurationMs: stats.Duration.Milliseconds(),
		Width: stats.Width, Height: stats.Height, VideoFrames: stats.VideoFrames, AudioFrames: stats.AudioFrames,
		DroppedFrames: stats.DroppedFrames, Ended: r.reason})
	at := time.Now()
	if err := o.Store.FinishRecording(ctx, r.ID, r.rec.RecorderID, chunks, m, at); err != nil {
		log.Error("finish server recording", "err", err)
		return
	}
	log.Info("server recording finished", "ended", r.reason, "chunks", chunks, "duration", stats.Duration,
		"video_frames", stats.VideoFrames, "dropped_frames", stats.DroppedFrames, "queue_dropped", r.dropped.Load())
	if o.Ready != nil {
		rec := r.rec
		rec.Chunks, rec.Bytes, rec.FinishedAt, rec.Manifest = chunks, size, at, m
		o.Ready(rec)
	}
}

// chunker is the muxer's output: bytes kept until the recorder stores
// them. ebml-go writes from its own goroutine.
type chunker struct {
	mu  sync.Mutex
	buf []byte
}

func (c *chunker) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = append(c.buf, b...)
	return len(b), nil
}

func (c *chunker) Close() error { return nil }

func (c *chunker) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.buf)
}

// take returns up to max bytes written, nil if there are none.
func (c *chunker) take(max int) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.buf) == 0 {
		return nil
	}
	k := min(len(c.buf), max)
	out := append([]byte(nil), c.buf[:k]...)
	c.buf = c.buf[k:]
	return out
}
