package store

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/kaigi-meet/kaigi/internal/audit"
	"github.com/kaigi-meet/kaigi/internal/auth"
)

// TestRecordings: a recording's chunks are written only by its recorder
// while it is open and within its limit (a retried chunk replaces the
// first and is counted once); it finishes only with every chunk; it is
// listed for its recorder and its readers and for nobody else; a
// reader's wrapped key is theirs alone; deleting takes the chunks with
// it; retention deletes what started before its cut; an account's
// deletion removes its key.
func TestRecordings(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, s *DB) {
		t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
		for _, id := range []string{"ada", "bob", "cy"} {
			if err := s.CreateUser(ctx, auth.User{ID: id, Email: id + "@example.org", Name: id, Role: auth.RoleMember, PasswordHash: "h", CreatedAt: t0}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SetRecordingKey(ctx, "ada", []byte("ada's old key"), t0); err != nil {
			t.Fatal(err)
		}
		if err := s.SetRecordingKey(ctx, "ada", []byte("ada's key"), t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if pub, at, err := s.RecordingKey(ctx, "ada"); err != nil || string(pub) != "ada's key" || !at.Equal(t0.Add(time.Hour)) {
			t.Fatalf("ada's key: %q %v %v", pub, at, err)
		}
		if _, _, err := s.RecordingKey(ctx, "bob"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("bob has no key, got %v", err)
		}

		id := NewRecordingID()
		rec := Recording{ID: id, MeetingID: "m1", RecorderID: "ada", E2EE: true, StartedAt: t0}
		if err := s.CreateRecording(ctx, rec, []RecordingReader{{RecordingID: id, UserID: "ada", WrappedKey: []byte("to ada"), SharedBy: "ada", CreatedAt: t0}}); err != nil {
			t.Fatal(err)
		}
		const limit = 10
		if err := s.PutRecordingChunk(ctx, id, "bob", 0, []byte("abc"), limit); !errors.Is(err, ErrNotFound) {
			t.Fatalf("bob wrote ada's chunk: %v", err)
		}
		for n, data := range []string{"aaaa", "bbb"} {
			if err := s.PutRecordingChunk(ctx, id, "ada", n, []byte(data), limit); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.PutRecordingChunk(ctx, id, "ada", 1, []byte("BBB"), limit); err != nil {
			t.Fatalf("a retried chunk: %v", err)
		}
		if err := s.PutRecordingChunk(ctx, id, "ada", 2, []byte("cccc"), limit); !errors.Is(err, ErrRecordingFull) {
			t.Fatalf("a chunk past the limit: %v", err)
		}
		if err := s.FinishRecording(ctx, id, "ada", 3, []byte("manifest"), t0.Add(time.Minute)); !errors.Is(err, ErrChunksMissing) {
			t.Fatalf("finished with chunk 2 missing: %v", err)
		}
		if err := s.FinishRecording(ctx, id, "bob", 2, []byte("manifest"), t0.Add(time.Minute)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("bob finished ada's recording: %v", err)
		}
		if err := s.FinishRecording(ctx, id, "ada", 2, []byte("manifest"), t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.PutRecordingChunk(ctx, id, "ada", 2, []byte("c"), limit); !errors.Is(err, ErrRecordingClosed) {
			t.Fatalf("a chunk after finishing: %v", err)
		}
		got, err := s.RecordingByID(ctx, id)
		if err != nil || got.Chunks != 2 || got.Bytes != 7 || string(got.Manifest) != "manifest" || !got.E2EE || !got.FinishedAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("the recording: %+v %v", got, err)
		}
		if c, err := s.RecordingChunk(ctx, id, 1); err != nil || !bytes.Equal(c, []byte("BBB")) {
			t.Fatalf("chunk 1: %q %v", c, err)
		}

		if err := s.AddRecordingReader(ctx, RecordingReader{RecordingID: id, UserID: "bob", WrappedKey: []byte("to bob"), SharedBy: "ada", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if rd, err := s.RecordingReaderOf(ctx, id, "bob"); err != nil || string(rd.WrappedKey) != "to bob" {
			t.Fatalf("bob's key: %+v %v", rd, err)
		}
		if _, err := s.RecordingReaderOf(ctx, id, "cy"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("cy, not a reader: %v", err)
		}
		if rs, _ := s.RecordingReaders(ctx, id); !slices.Equal(rs, []string{"ada", "bob"}) {
			t.Fatalf("readers %v", rs)
		}
		for user, want := range map[string]int{"ada": 1, "bob": 1, "cy": 0} {
			if l, err := s.RecordingsOf(ctx, user); err != nil || len(l) != want {
				t.Fatalf("%s's recordings: %d, %v; want %d", user, len(l), err, want)
			}
		}

		if err := s.DeleteRecording(ctx, id, "bob"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("bob deleted ada's recording: %v", err)
		}
		if err := s.DeleteRecording(ctx, id, "ada"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RecordingChunk(ctx, id, 0); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a chunk outlived its recording: %v", err)
		}
		if _, err := s.RecordingReaderOf(ctx, id, "bob"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a reader outlived the recording: %v", err)
		}

		old, young := NewRecordingID(), NewRecordingID()
		for i, rid := range []string{old, young} {
			r := Recording{ID: rid, MeetingID: "m1", RecorderID: "bob", StartedAt: t0.AddDate(0, 0, 10*i)}
			if err := s.CreateRecording(ctx, r, nil); err != nil {
				t.Fatal(err)
			}
			if err := s.PutRecordingChunk(ctx, rid, "bob", 0, []byte("x"), limit); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := s.DeleteOldRecordings(ctx, t0.AddDate(0, 0, 5), 100); err != nil || n != 1 {
			t.Fatalf("retention deleted %d: %v", n, err)
		}
		if _, err := s.RecordingByID(ctx, old); !errors.Is(err, ErrNotFound) {
			t.Fatalf("the old recording is still there: %v", err)
		}
		if _, err := s.RecordingByID(ctx, young); err != nil {
			t.Fatalf("the young recording went: %v", err)
		}

		if err := s.DeleteUser(ctx, "ada", auth.Guard{}, audit.Entry{Time: t0, Action: audit.UserDeleted, ActorKind: audit.ActorOperator, SubjectKind: audit.SubjectUser, SubjectID: "ada"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.RecordingKey(ctx, "ada"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a deleted account's key is still there: %v", err)
		}
	})
}
