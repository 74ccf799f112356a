package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/kaigi-meet/kaigi/internal/store"
	"github.com/kaigi-meet/kaigi/internal/webhook"
)

// Webhooks is the organisation's webhooks as administrators manage them
// (webhook.Dispatcher).
type Webhooks interface {
	Register(ctx context.Context, by, url string, events []string) (webhook.Hook, string, error)
	SetEnabled(ctx context.Context, by, id string, enabled bool) error
	Delete(ctx context.Context, by, id string) error
	List(ctx context.Context) ([]webhook.Hook, error)
	Log(ctx context.Context, id string) ([]webhook.Delivery, error)
}

// webhookRoutes registers the administrators' webhook endpoints. Only
// the two that read are open to an admin-scoped token (tokens.go).
func (a *api) webhookRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/admin/webhooks", a.listWebhooks)
	mux.HandleFunc("POST /api/admin/webhooks", a.createWebhook)
	mux.HandleFunc("PATCH /api/admin/webhooks/{id}", a.patchWebhook)
	mux.HandleFunc("DELETE /api/admin/webhooks/{id}", a.deleteWebhook)
	mux.HandleFunc("GET /api/admin/webhooks/{id}/deliveries", a.webhookDeliveries)
}

type webhookJSON struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Enabled   bool      `json:"enabled"`
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy string    `json:"createdBy"`
}

func toWebhookJSON(h webhook.Hook) webhookJSON {
	return webhookJSON{ID: h.ID, URL: h.URL, Events: h.Events, Enabled: h.Enabled, CreatedAt: h.CreatedAt, CreatedBy: h.CreatedBy}
}

func (a *api) webhookAdmin(w http.ResponseWriter, r *http.Request) (string, bool) {
	if a.webhooks == nil {
		writeError(w, http.StatusNotFound, "page_not_found", "This server has no webhooks.")
		return "", false
	}
	u, ok := a.admin(w, r)
	return u.ID, ok
}

func (a *api) webhookError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, webhook.ErrRefusedAddress):
		writeError(w, http.StatusBadRequest, "bad_url", err.Error())
	case errors.Is(err, webhook.ErrBadEvents):
		writeError(w, http.StatusBadRequest, "bad_events", err.Error())
	case errors.Is(err, webhook.ErrTooMany):
		writeError(w, http.StatusConflict, "too_many_webhooks", err.Error())
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "There is no such webhook.")
	default:
		a.internal(w, "webhooks", err)
	}
}

// listWebhooks handles GET /api/admin/webhooks.
func (a *api) listWebhooks(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.webhookAdmin(w, r); !ok {
		return
	}
	hooks, err := a.webhooks.List(r.Context())
	if err != nil {
		a.webhookError(w, err)
		return
	}
	out := make([]webhookJSON, 0, len(hooks))
	for _, h := range hooks {
		out = append(out, toWebhookJSON(h))
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": out, "events": webhook.Events})
}

// createWebhook handles POST /api/admin/webhooks {url, events}: 201
// {webhook, secret}, the secret shown this once.
func (a *api) createWebhook(w http.ResponseWriter, r *http.Request) {
	by, ok := a.webhookAdmin(w, r)
	if !ok {
		return
	}
	if !a.recentAuth(w, r) { // reauth.go: a receiver is told of every meeting
		return
	}
	var req struct {
		URL    string
		Events []string
	}
	if !readJSON(w, r, &req) {
		return
	}
	h, secret, err := a.webhooks.Register(r.Context(), by, req.URL, req.Events)
	if err != nil {
		a.webhookError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"webhook": toWebhookJSON(h), "secret": secret})
}

// patchWebhook handles PATCH /api/admin/webhooks/{id} {enabled}.
func (a *api) patchWebhook(w http.ResponseWriter, r *http.Request) {
	by, ok := a.webhookAdmin(w, r)
	if !ok {
		return
	}
	var req struct{ Enabled *bool }
	if !readJSON(w, r, &req) {
		return
	}
	if req.Enabled == nil {
		writeError(w, http.StatusBadRequest, "bad_request", "Say whether the webhook is enabled.")
		return
	}
	if err := a.webhooks.SetEnabled(r.Context(), by, r.PathValue("id"), *req.Enabled); err != nil {
		a.webhookError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteWebhook handles DELETE /api/admin/webhooks/{id}.
func (a *api) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	by, ok := a.webhookAdmin(w, r)
	if !ok {
		return
	}
	if err := a.webhooks.Delete(r.Context(), by, r.PathValue("id")); err != nil {
		a.webhookError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type deliveryJSON struct {
	ID        string          `json:"id"`
	Event     string          `json:"event"`
	Status    string          `json:"status"`
	Attempts  int             `json:"attempts"`
	NextAt    *time.Time      `json:"nextAt,omitempty"`
	LastCode  int             `json:"lastCode,omitempty"`
	LastError string          `json:"lastError,omitempty"`
	CreatedAt time.Time       `json:"createdAt"`
	UpdatedAt time.Time       `json:"updatedAt"`
	Payload   json.RawMessage `json:"payload"`
}

// webhookDeliveries handles GET /api/admin/webhooks/{id}/deliveries: the
// delivery log, newest first.
func (a *api) webhookDeliveries(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.webhookAdmin(w, r); !ok {
		return
	}
	log, err := a.webhooks.Log(r.Context(), r.PathValue("id"))
	if err != nil {
		a.webhookError(w, err)
		return
	}
	out := make([]deliveryJSON, 0, len(log))
	for _, d := range log {
		j := deliveryJSON{ID: d.ID, Event: d.Event, Status: d.Status, Attempts: d.Attempts, LastCode: d.LastCode, LastError: d.LastError,
			CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, Payload: d.Payload}
		if !d.NextAt.IsZero() {
			j.NextAt = &d.NextAt
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": out})
}
