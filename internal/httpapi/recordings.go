package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/kaigi-meet/kaigi/internal/meeting"
	"github.com/kaigi-meet/kaigi/internal/store"
	"github.com/kaigi-meet/kaigi/internal/webhook"
)

// Recordings (docs/api.md, "Recordings"; docs/security.md, "Recording").
// A recording is made in a participant's browser, which encrypts it with
// a fresh content key and wraps that key (HPKE) to each reader's
// recording public key; this API stores and hands back what the browsers
// encrypted and decides only who may write and read which bytes: the
// recorder's account uploads chunks while the recording is open, a
// reader (an account the content key was wrapped for) downloads them and
// its own wrapped key, a reader may share with another account by
// wrapping the key it unwrapped, and the recorder deletes. None of it is
// open to API tokens (tokenRoutes): a program has no recording key.

// RecordingStore is what recordings need of the store (internal/store).
type RecordingStore interface {
	SetSignedRecordingKey(ctx context.Context, userID string, pub, signature []byte, at time.Time) error
	SignedRecordingKey(ctx context.Context, userID string) (pub, signature []byte, _ time.Time, _ error)
	CreateRecording(ctx context.Context, r store.Recording, readers []store.RecordingReader) error
	AddRecordingReader(ctx context.Context, rd store.RecordingReader) error
	RecordingReaderOf(ctx context.Context, recordingID, userID string) (store.RecordingReader, error)
	RecordingReaders(ctx context.Context, recordingID string) ([]string, error)
	RecordingByID(ctx context.Context, id string) (store.Recording, error)
	RecordingsOf(ctx context.Context, userID string) ([]store.Recording, error)
	PutRecordingChunk(ctx context.Context, id, recorderID string, n int, data []byte, maxBytes int64) error
	FinishRecording(ctx context.Context, id, recorderID string, chunks int, manifest []byte, at time.Time) error
	RecordingChunk(ctx context.Context, id string, n int) ([]byte, error)
	DeleteRecording(ctx context.Context, id, recorderID string) error
}

// Recording limits (RecordingLimits' defaults).
const (
	// DefaultMaxRecordingChunk bounds one uploaded chunk: a few seconds of
	// 720p WebM is well under 1 MiB.
	DefaultMaxRecordingChunk = 8 << 20
	// DefaultMaxRecordingBytes bounds one recording (about 4 hours at
	// 2 Mbit/s).
	DefaultMaxRecordingBytes = 4 << 30
	// maxRecordingChunks bounds a chunk's index.
	maxRecordingChunks = 1 << 20
	// recordingKeyLen is an X25519 public key's length; wrappedKeyMax
	// bounds a wrapped content key (HPKE enc, 32, and the sealed key with
	// its tag, well under 256).
	recordingKeyLen = 32
	wrappedKeyMax   = 512
	// keySignatureMax bounds a recording key's signature (its browser's:
	// a version byte, a device key and an Ed25519 signature, 97 bytes).
	keySignatureMax = 256
	manifestMax     = 8 << 10
	// maxInitialReaders bounds the readers a recording is created with.
	maxInitialReaders = 16
)

// RecordingLimits are the sizes the API accepts; zero fields take the
// defaults.
type RecordingLimits struct {
	MaxChunk int64
	MaxBytes int64
}

// recordingRoutes registers the recording endpoints.
func (a *api) recordingRoutes(mux *http.ServeMux, rs RecordingStore, limits RecordingLimits) {
	if rs == nil {
		return
	}
	if limits.MaxChunk <= 0 {
		limits.MaxChunk = DefaultMaxRecordingChunk
	}
	if limits.MaxBytes <= 0 {
		limits.MaxBytes = DefaultMaxRecordingBytes
	}
	h := &recordingAPI{api: a, rs: rs, limits: limits}
	mux.HandleFunc("GET /api/me/recording-key", h.myKey)
	mux.HandleFunc("PUT /api/me/recording-key", h.setMyKey)
	mux.HandleFunc("GET /api/recording-keys", h.keyOf)
	mux.HandleFunc("GET /api/recordings/readers", h.suggestedReaders)
	mux.HandleFunc("GET /api/recordings", h.list)
	mux.HandleFunc("POST /api/recordings", h.create)
	mux.HandleFunc("GET /api/recordings/{id}", h.get)
	mux.HandleFunc("DELETE /api/recordings/{id}", h.delete)
	mux.HandleFunc("PUT /api/recordings/{id}/chunks/{n}", h.putChunk)
	mux.HandleFunc("GET /api/recordings/{id}/chunks/{n}", h.getChunk)
	mux.HandleFunc("POST /api/recordings/{id}/finish", h.finish)
	mux.HandleFunc("POST /api/recordings/{id}/readers", h.share)
}

type recordingAPI struct {
	*api
	rs     RecordingStore
	limits RecordingLimits
}

type readerKeyJSON struct {
	Account   string `json:"account"`
	Name      string `json:"name"`
	PublicKey []byte `json:"publicKey"`
	// Signature is the key's signature by the device key of the browser
	// that made it, as that browser sent it (the server cannot check or
	// make one: the recorder's browser checks it); absent: unsigned.
	Signature []byte `json:"signature,omitempty"`
	SetAt     string `json:"setAt"`
}

type recordingJSON struct {
	ID         string `json:"id"`
	Meeting    string `json:"meeting"`
	Recorder   string `json:"recorder"`
	Name       string `json:"recorderName"`
	E2EE       bool   `json:"e2ee"`
	StartedAt  string `json:"startedAt"`
	FinishedAt string `json:"finishedAt,omitempty"`
	Chunks     int    `json:"chunks"`
	Bytes      int64  `json:"bytes"`
	Mine       bool   `json:"mine"`
	// Kind is "browser" (encrypted in the recorder's browser) or "server"
	// (plain WebM the server wrote, internal/recorder: its chunks are the
	// file, its manifest a JSON description, nothing to unwrap).
	Kind string `json:"kind"`
}

func (h *recordingAPI) toJSON(ctx context.Context, r store.Recording, me string) recordingJSON {
	name, _ := h.accounts.UserName(ctx, r.RecorderID)
	out := recordingJSON{ID: r.ID, Meeting: r.MeetingID, Recorder: r.RecorderID, Name: name, E2EE: r.E2EE,
		StartedAt: r.StartedAt.UTC().Format(time.RFC3339), Chunks: r.Chunks, Bytes: r.Bytes, Mine: r.RecorderID == me, Kind: r.Kind}
	if out.Kind == "" {
		out.Kind = store.KindBrowser
	}
	if !r.FinishedAt.IsZero() {
		out.FinishedAt = r.FinishedAt.UTC().Format(time.RFC3339)
	}
	return out
}

func (h *recordingAPI) storeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "There is no such recording, or it is not yours.")
	case errors.Is(err, store.ErrRecordingClosed):
		writeError(w, http.StatusConflict, "recording_finished", "This recording is finished: nothing more can be added to it.")
	case errors.Is(err, store.ErrRecordingFull):
		writeError(w, http.StatusRequestEntityTooLarge, "recording_too_large", "This recording has reached its size limit.")
	case errors.Is(err, store.ErrChunksMissing):
		writeError(w, http.StatusConflict, "chunks_missing", "Some chunks of this recording have not arrived: upload them before finishing.")
	default:
		h.internal(w, "recordings", err)
	}
}

func (h *recordingAPI) keyJSON(ctx context.Context, userID string) (readerKeyJSON, error) {
	pub, sig, at, err := h.rs.SignedRecordingKey(ctx, userID)
	if err != nil {
		return readerKeyJSON{}, err
	}
	name, _ := h.accounts.UserName(ctx, userID)
	return readerKeyJSON{Account: userID, Name: name, PublicKey: pub, Signature: sig, SetAt: at.UTC().Format(time.RFC3339)}, nil
}

// myKey handles GET /api/me/recording-key: the account's recording public
// key, 404 no_key if it has none.
func (h *recordingAPI) myKey(w http.ResponseWriter, r *http.Request) {
	u, ok := h.user(w, r, true)
	if !ok {
		return
	}
	k, err := h.keyJSON(r.Context(), u.ID)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no_key", "This account has no recording key yet.")
		return
	}
	if err != nil {
		h.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, k)
}

// setMyKey handles PUT /api/me/recording-key {publicKey, signature?}: the
// account's recording public key (32 bytes, base64), made in its browser,
// with that browser's signature of it (opaque here, at most
// keySignatureMax bytes); a key set without one is unsigned.
func (h *recordingAPI) setMyKey(w http.ResponseWriter, r *http.Request) {
	u, ok := h.user(w, r, true)
	if !ok {
		return
	}
	var req struct{ PublicKey, Signature []byte }
	if !readJSON(w, r, &req) {
		return
	}
	if len(req.PublicKey) != recordingKeyLen {
		writeError(w, http.StatusBadRequest, "bad_key", "A recording key is an X25519 public key of 32 bytes.")
		return
	}
	if len(req.Signature) > keySignatureMax {
		writeError(w, http.StatusBadRequest, "bad_key", "That signature of the recording key is too long.")
		return
	}
	if len(req.Signature) == 0 {
		req.Signature = nil
	}
	if err := h.rs.SetSignedRecordingKey(r.Context(), u.ID, req.PublicKey, req.Signature, h.now()); err != nil {
		h.storeError(w, err)
		return
	}
	h.log.Info("recording key set", "user", u.ID)
	w.WriteHeader(http.StatusNoContent)
}

// keyOf handles GET /api/recording-keys?email=: the recording key of the
// organisation's account with that email, to share a recording with.
func (h *recordingAPI) keyOf(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.user(w, r, true); !ok {
		return
	}
	target, err := h.accounts.UserByEmail(r.Context(), r.URL.Query().Get("email"))
	var k readerKeyJSON
	if err == nil {
		k, err = h.keyJSON(r.Context(), target.ID)
	}
	if err != nil {
		writeError(w, http.StatusNotFound, "no_key", "No account with that email has a recording key.")
		return
	}
	writeJSON(w, http.StatusOK, k)
}

// suggestedReaders handles GET /api/recordings/readers?meeting=: whom a
// recording of that meeting is wrapped for: the caller and the meeting's
// owner, with their keys (those without a key are listed in missing).
// The recorder's browser shows them with their fingerprints before it
// wraps anything: a server could name a reader or a key of its own here.
func (h *recordingAPI) suggestedReaders(w http.ResponseWriter, r *http.Request) {
	u, ok := h.user(w, r, true)
	if !ok {
		return
	}
	ids := []string{u.ID}
	if rec, err := h.meetings.Meeting(r.Context(), meeting.ID(r.URL.Query().Get("meeting"))); err == nil && rec.OwnerID != "" && rec.OwnerID != u.ID {
		ids = append(ids, rec.OwnerID)
	}
	readers, missing := []readerKeyJSON{}, []string{}
	for _, id := range ids {
		k, err := h.keyJSON(r.Context(), id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			missing = append(missing, id)
		case err != nil:
			h.storeError(w, err)
			return
		default:
			readers = append(readers, k)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"readers": readers, "missing": missing})
}

type wrappedJSON struct {
	Account    string `json:"account"`
	WrappedKey []byte `json:"wrappedKey"`
}

// create handles POST /api/recordings {meeting, e2ee, readers?: [{account,
// wrappedKey}]}: 201 {recording}, open, recorded by the caller. The
// content key is wrapped with the recording's ID as associated data, so
// the recorder's browser usually creates first and adds the readers next
// (POST /api/recordings/{id}/readers); readers given here must include
// the recorder.
func (h *recordingAPI) create(w http.ResponseWriter, r *http.Request) {
	u, ok := h.user(w, r, true)
	if !ok {
		return
	}
	var req struct {
		Meeting string
		E2EE    bool
		Readers []wrappedJSON
	}
	if !readJSON(w, r, &req) {
		return
	}
	if _, err := h.meetings.Meeting(r.Context(), meeting.ID(req.Meeting)); err != nil {
		writeError(w, http.StatusNotFound, "meeting_not_found", "There is no such meeting.")
		return
	}
	self := false
	for _, rd := range req.Readers {
		self = self || rd.Account == u.ID
		if len(rd.WrappedKey) == 0 || len(rd.WrappedKey) > wrappedKeyMax {
			writeError(w, http.StatusBadRequest, "bad_key", "Each reader needs a wrapped key.")
			return
		}
	}
	if (!self && len(req.Readers) > 0) || len(req.Readers) > maxInitialReaders {
		writeError(w, http.StatusBadRequest, "bad_readers", "Wrap the recording's key for yourself, and for at most 16 readers.")
		return
	}
	now := h.now()
	rec := store.Recording{ID: store.NewRecordingID(), MeetingID: req.Meeting, RecorderID: u.ID, E2EE: req.E2EE, StartedAt: now}
	readers := make([]store.RecordingReader, len(req.Readers))
	for i, rd := range req.Readers {
		readers[i] = store.RecordingReader{RecordingID: rec.ID, UserID: rd.Account, WrappedKey: rd.WrappedKey, SharedBy: u.ID, CreatedAt: now}
	}
	if err := h.rs.CreateRecording(r.Context(), rec, readers); err != nil {
		h.storeError(w, err)
		return
	}
	h.log.Info("recording created", "recording", rec.ID, "meeting", rec.MeetingID, "recorder", u.ID)
	writeJSON(w, http.StatusCreated, map[string]any{"recording": h.toJSON(r.Context(), rec, u.ID)})
}

// list handles GET /api/recordings: the caller's recordings and those
// shared with them.
func (h *recordingAPI) list(w http.ResponseWriter, r *http.Request) {
	u, ok := h.user(w, r, true)
	if !ok {
		return
	}
	recs, err := h.rs.RecordingsOf(r.Context(), u.ID)
	if err != nil {
		h.storeError(w, err)
		return
	}
	out := make([]recordingJSON, 0, len(recs))
	for _, rec := range recs {
		out = append(out, h.toJSON(r.Context(), rec, u.ID))
	}
	writeJSON(w, http.StatusOK, map[string]any{"recordings": out})
}

// readable returns a recording the caller may read, with the caller's
// wrapped key (nil for a recorder who is not a reader), or writes 404.
func (h *recordingAPI) readable(w http.ResponseWriter, r *http.Request, userID string) (store.Recording, []byte, bool) {
	id := r.PathValue("id")
	rec, err := h.rs.RecordingByID(r.Context(), id)
	if err != nil {
		h.storeError(w, err)
		return rec, nil, false
	}
	rd, err := h.rs.RecordingReaderOf(r.Context(), id, userID)
	if errors.Is(err, store.ErrNotFound) && rec.RecorderID == userID {
		return rec, nil, true
	}
	if err != nil {
		h.storeError(w, err)
		return rec, nil, false
	}
	return rec, rd.WrappedKey, true
}

// get handles GET /api/recordings/{id}: {recording, wrappedKey,
// manifest, readers}, for its recorder and its readers only.
func (h *recordingAPI) get(w http.ResponseWriter, r *http.Request) {
	u, ok := h.user(w, r, true)
	if !ok {
		return
	}
	rec, wrapped, ok := h.readable(w, r, u.ID)
	if !ok {
		return
	}
	readers, err := h.rs.RecordingReaders(r.Context(), rec.ID)
	if err != nil {
		h.storeError(w, err)
		return
	}
	if readers == nil {
		readers = []string{} // a server recording has none
	}
	writeJSON(w, http.StatusOK, map[string]any{"recording": h.toJSON(r.Context(), rec, u.ID), "wrappedKey": wrapped,
		"manifest": rec.Manifest, "readers": readers})
}

func chunkIndex(w http.ResponseWriter, r *http.Request) (int, bool) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 || n >= maxRecordingChunks || strconv.Itoa(n) != r.PathValue("n") {
		writeError(w, http.StatusBadRequest, "bad_chunk", "A chunk's index is a whole number from 0.")
		return 0, false
	}
	return n, true
}

// putChunk handles PUT /api/recordings/{id}/chunks/{n}: the encrypted
// chunk n as the body, by the recorder while the recording is open; a
// chunk sent again (a retry) replaces the first.
func (h *recordingAPI) putChunk(w http.ResponseWriter, r *http.Request) {
	u, ok := h.user(w, r, true)
	if !ok {
		return
	}
	n, ok := chunkIndex(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.limits.MaxChunk))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, "chunk_too_large", "A chunk is at most "+strconv.FormatInt(h.limits.MaxChunk>>20, 10)+" MiB.")
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "The chunk did not arrive whole.")
		return
	}
	if len(body) == 0 {
		writeError(w, http.StatusBadRequest, "bad_chunk", "A chunk is not empty.")
		return
	}
	if h.serverMade(w, r) {
		return
	}
	if err := h.rs.PutRecordingChunk(r.Context(), r.PathValue("id"), u.ID, n, body, h.limits.MaxBytes); err != nil {
		h.storeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// getChunk handles GET /api/recordings/{id}/chunks/{n}, for its recorder
// and readers.
func (h *recordingAPI) getChunk(w http.ResponseWriter, r *http.Request) {
	u, ok := h.user(w, r, true)
	if !ok {
		return
	}
	n, ok := chunkIndex(w, r)
	if !ok {
		return
	}
	rec, _, ok := h.readable(w, r, u.ID)
	if !ok {
		return
	}
	data, err := h.rs.RecordingChunk(r.Context(), rec.ID, n)
	if err != nil {
		h.storeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(data)
}

// finish handles POST /api/recordings/{id}/finish {chunks, manifest}: the
// recorder closes the recording once every chunk has arrived.
func (h *recordingAPI) finish(w http.ResponseWriter, r *http.Request) {
	u, ok := h.user(w, r, true)
	if !ok {
		return
	}
	var req struct {
		Chunks   int
		Manifest []byte
	}
	if !readJSON(w, r, &req) {
		return
	}
	if req.Chunks < 0 || req.Chunks > maxRecordingChunks || len(req.Manifest) == 0 || len(req.Manifest) > manifestMax {
		writeError(w, http.StatusBadRequest, "bad_request", "Say how many chunks there are, with the encrypted manifest.")
		return
	}
	if h.serverMade(w, r) {
		return
	}
	if err := h.rs.FinishRecording(r.Context(), r.PathValue("id"), u.ID, req.Chunks, req.Manifest, h.now()); err != nil {
		h.storeError(w, err)
		return
	}
	h.log.Info("recording finished", "recording", r.PathValue("id"), "chunks", req.Chunks)
	h.recordingReady(r.Context(), r.PathValue("id"))
	w.WriteHeader(http.StatusNoContent)
}

// serverMade refuses (409) to let anyone write into a recording the
// server makes (internal/recorder): only the server adds its chunks and
// finishes it, though the API would otherwise take them from the account
// it is recorded for.
func (h *recordingAPI) serverMade(w http.ResponseWriter, r *http.Request) bool {
	rec, err := h.rs.RecordingByID(r.Context(), r.PathValue("id"))
	if err == nil && rec.Kind == store.KindServer {
		writeError(w, http.StatusConflict, "server_recording", "The server makes this recording: nothing can be uploaded into it.")
		return true
	}
	return false
}

// recordingReady tells the webhooks (recording.ready) that a recording is
// finished: its ID, meeting, chunk count and stored size, nothing else.
// The webhooks option is the dispatcher, which takes events; a server
// without webhooks has none.
func (h *recordingAPI) recordingReady(ctx context.Context, id string) {
	em, ok := h.webhooks.(interface{ Emit(webhook.Event) })
	if !ok {
		return
	}
	rec, err := h.rs.RecordingByID(ctx, id)
	if err != nil {
		h.log.Warn("recording.ready not sent", "recording", id, "err", err)
		return
	}
	chunks, size := rec.Chunks, rec.Bytes
	em.Emit(webhook.Event{Type: webhook.RecordingReady, Time: h.now(), Meeting: rec.MeetingID, Recording: rec.ID, Chunks: &chunks, Bytes: &size})
}

// share handles POST /api/recordings/{id}/readers {account, wrappedKey}:
// the recorder, or a reader, gives an account access by wrapping the
// content key (which it made, or unwrapped in its browser) to that
// account's recording key.
func (h *recordingAPI) share(w http.ResponseWriter, r *http.Request) {
	u, ok := h.user(w, r, true)
	if !ok {
		return
	}
	var req wrappedJSON
	if !readJSON(w, r, &req) {
		return
	}
	if len(req.WrappedKey) == 0 || len(req.WrappedKey) > wrappedKeyMax || req.Account == "" {
		writeError(w, http.StatusBadRequest, "bad_key", "Say whom to share with and give the key wrapped for them.")
		return
	}
	id := r.PathValue("id")
	rec, _, ok := h.readable(w, r, u.ID)
	if !ok {
		return
	}
	if rec.Kind == store.KindServer {
		writeError(w, http.StatusConflict, "server_recording", "A recording made by the server has no key to share.")
		return
	}
	if _, _, _, err := h.rs.SignedRecordingKey(r.Context(), req.Account); err != nil {
		writeError(w, http.StatusNotFound, "no_key", "That account has no recording key.")
		return
	}
	err := h.rs.AddRecordingReader(r.Context(), store.RecordingReader{RecordingID: id, UserID: req.Account, WrappedKey: req.WrappedKey,
		SharedBy: u.ID, CreatedAt: h.now()})
	if err != nil {
		h.storeError(w, err)
		return
	}
	h.log.Info("recording shared", "recording", id, "by", u.ID, "with", req.Account)
	w.WriteHeader(http.StatusNoContent)
}

// delete handles DELETE /api/recordings/{id}: the recorder deletes the
// recording, its chunks and every reader's key.
func (h *recordingAPI) delete(w http.ResponseWriter, r *http.Request) {
	u, ok := h.user(w, r, true)
	if !ok {
		return
	}
	if err := h.rs.DeleteRecording(r.Context(), r.PathValue("id"), u.ID); err != nil {
		h.storeError(w, err)
		return
	}
	h.log.Info("recording deleted", "recording", r.PathValue("id"), "by", u.ID)
	w.WriteHeader(http.StatusNoContent)
}
