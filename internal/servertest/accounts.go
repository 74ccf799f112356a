package servertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/kaigi-meet/kaigi/internal/meeting"
)

// Account is a signed-in account with its own cookie jar.
type Account struct {
	srv                   *Server
	ID, Email, Name, Pass string
	HTTP                  *http.Client
}

// Meeting is a created meeting as its owner sees it.
type Meeting struct {
	ID        string           `json:"id"`
	URL       string           `json:"url"`
	InviteURL string           `json:"inviteUrl"`
	Passcode  string           `json:"passcode"`
	Settings  meeting.Settings `json:"settings"`
}

// Admin returns the server's first account (its admin), signing it up the
// first time.
func (s *Server) Admin(t testing.TB) *Account {
	t.Helper()
	s.adminOnce.Do(func() {
		a := s.newClient("admin@example.org", "Alex Admin", "admin password 1")
		var out struct{ User struct{ ID string } }
		if code := a.Do(t, "POST", "/api/auth/signup", map[string]string{"email": a.Email, "name": a.Name, "password": a.Pass}, &out); code != http.StatusCreated {
			t.Fatalf("sign up the admin: %d", code)
		}
		a.ID = out.User.ID
		s.admin = a
	})
	if s.admin == nil {
		t.Fatal("no admin account")
	}
	return s.admin
}

// NewAccount has the admin create an account, and signs it in.
func (s *Server) NewAccount(t testing.TB, email, name string) *Account {
	t.Helper()
	a := s.newClient(email, name, "password for "+name)
	admin, body := s.Admin(t), map[string]string{"email": email, "name": name, "password": a.Pass}
	code := admin.Do(t, "POST", "/api/admin/users", body, nil)
	if code == http.StatusForbidden {
		// reauth_required: the admin signed in over 10 minutes ago (a
		// long test); it confirms its password, as its page would ask.
		admin.Do(t, "POST", "/api/auth/reauth", map[string]string{"password": admin.Pass}, nil)
		code = admin.Do(t, "POST", "/api/admin/users", body, nil)
	}
	if code != http.StatusCreated {
		t.Fatalf("create account %s: %d", email, code)
	}
	var out struct{ User struct{ ID string } }
	if code := a.Do(t, "POST", "/api/auth/signin", map[string]string{"email": email, "password": a.Pass}, &out); code != http.StatusOK {
		t.Fatalf("sign in %s: %d", email, code)
	}
	a.ID = out.User.ID
	return a
}

func (s *Server) newClient(email, name, pass string) *Account {
	jar, _ := cookiejar.New(nil)
	return &Account{srv: s, Email: email, Name: name, Pass: pass, HTTP: &http.Client{Jar: jar}}
}

// Do sends a JSON request as this account and decodes the JSON answer into
// out (if not nil). It returns the status code.
func (a *Account) Do(t testing.TB, method, path string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

// Cookie is the Cookie header this account's browser would send.
func (a *Account) Cookie() string {
	u, _ := url.Parse(a.srv.URL)
	var parts []string
	for _, c := range a.HTTP.Jar.Cookies(u) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// NewMeeting creates an instant meeting hosted by this account, with the
// organisation's defaults or the given settings.
func (a *Account) NewMeeting(t testing.TB, settings *meeting.Settings) Meeting {
	t.Helper()
	body := map[string]any{}
	if settings != nil {
		body["settings"] = settings
	}
	var m Meeting
	if code := a.Do(t, "POST", "/api/meetings", body, &m); code != http.StatusCreated {
		t.Fatalf("create meeting: %d", code)
	}
	return m
}

// OpenSettings are settings with no defences: no passcode, no waiting
// room, join before host, everyone may share. For tests about media.
func OpenSettings() *meeting.Settings {
	return &meeting.Settings{JoinBeforeHost: true, ScreenShare: meeting.WhoEveryone, Unmute: meeting.WhoEveryone,
		Chat: meeting.WhoEveryone, Rename: meeting.WhoEveryone}
}

// NewMeeting creates an open meeting (see OpenSettings) hosted by the admin
// and returns its ID.
func (s *Server) NewMeeting(t testing.TB) string {
	t.Helper()
	return s.Admin(t).NewMeeting(t, OpenSettings()).ID
}

// String describes the account for test messages.
func (a *Account) String() string { return fmt.Sprintf("%s <%s>", a.Name, a.Email) }
