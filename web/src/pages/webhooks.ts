// The admin page's "Webhooks" card: the organisation's webhooks (where,
// which events, on or off), each with its delivery log; registering one
// (its signing secret shown this once, with a copy button), turning one
// off or on, and deleting one. What a webhook carries is metadata only
// (docs/api.md, "Webhooks"; the privacy page says so too).

import { asApiError } from "../api/http.js";
import { createWebhook, deleteWebhook, deliveryText, listWebhooks, setWebhookEnabled, WEBHOOK_EVENTS, webhookDeliveries, type Webhook } from "../api/tokens.js";
import { formatWhen } from "../lib/datetime.js";
import { openDialog } from "../ui/dialog.js";
import { el, replace } from "../ui/dom.js";
import { checkbox, errorLine, field, fieldProblem, onSubmit, setError, submitButton } from "../ui/forms.js";
import { secretOnce } from "./tokens.js";

export function webhooksSection(): HTMLElement {
  const box = el("div", { class: "section-body" }, el("p", { class: "hint", text: "Loading webhooks…" }));
  const load = (shown: HTMLElement | null = null): void => {
    void listWebhooks()
      .then((hooks) => replace(box, ...(shown ? [shown] : []), hookList(hooks, () => load()), createForm(load)))
      .catch((e) => replace(box, el("p", { class: "error", text: asApiError(e, "The webhooks could not be loaded.").message })));
  };
  load();
  return el(
    "section",
    { id: "webhooks", class: "card", attrs: { "aria-labelledby": "webhooks-title" } },
    el("h2", { id: "webhooks-title", text: "Webhooks" }),
    el("p", {
      class: "hint",
      text: "Tell another system when meetings start and end and when people join or leave. Each delivery is signed with the webhook's secret (header Kaigi-Signature) and carries metadata only: meeting and random participant IDs, rooms, times and counts; never names, addresses or anything said in a meeting. A receiver that fails is tried again for about half an hour.",
    }),
    box,
  );
}

function hookList(hooks: Webhook[], reload: () => void): HTMLElement {
  if (hooks.length === 0) return el("p", { id: "webhooks-none", class: "hint", text: "No webhook yet." });
  return el("ul", { id: "webhook-list", class: "plain-list" }, ...hooks.map((h) => hookRow(h, reload)));
}

function hookRow(h: Webhook, reload: () => void): HTMLElement {
  const error = errorLine(`webhook-error-${h.id}`);
  const act = (f: () => Promise<void>): void => {
    setError(error, null);
    void f()
      .then(reload)
      .catch((e) => setError(error, asApiError(e).message));
  };
  const toggle = el("button", {
    class: "button small",
    text: h.enabled ? "Turn off" : "Turn on",
    attrs: { type: "button", "data-action": h.enabled ? "disable" : "enable" },
    on: { click: () => act(() => setWebhookEnabled(h.id, !h.enabled)) },
  });
  const del = el("button", {
    class: "button small danger",
    text: "Delete",
    attrs: { type: "button", "data-action": "delete" },
    on: {
      click: () =>
        void openDialog(del.closest("section") ?? document.body, {
          id: "webhook-delete-dialog",
          title: "Delete this webhook?",
          body: [el("p", { text: `Nothing more is sent to ${h.url}, and its pending deliveries and log are deleted.` })],
          confirm: { id: "webhook-delete-confirm", label: "Delete", danger: true },
        }).then((ok) => {
          if (ok) act(() => deleteWebhook(h.id));
        }),
    },
  });
  const log = el("div", { class: "webhook-log" });
  const details = el("details", { id: `webhook-log-${h.id}`, class: "disclosure" }, el("summary", { text: "Delivery log" }), log);
  details.addEventListener("toggle", () => {
    if (!details.open) return;
    replace(log, el("p", { class: "hint", text: "Loading…" }));
    void webhookDeliveries(h.id)
      .then((ds) =>
        replace(
          log,
          ds.length === 0
            ? el("p", { class: "hint", text: "Nothing sent yet." })
            : el(
                "div",
                { class: "table-wrap" },
                el(
                  "table",
                  { class: "table" },
                  el("thead", {}, el("tr", {}, ...["When", "Event", "Outcome"].map((t) => el("th", { text: t, attrs: { scope: "col" } })))),
                  el("tbody", {}, ...ds.map((d) => el("tr", { attrs: { "data-status": d.status } }, el("td", { text: formatWhen(d.createdAt) }), el("td", { text: d.event }), el("td", { text: deliveryText(d) })))),
                ),
              ),
        ),
      )
      .catch((e) => replace(log, el("p", { class: "error", text: asApiError(e, "The log could not be loaded.").message })));
  });
  return el(
    "li",
    { class: "webhook", attrs: { "data-id": h.id, "data-enabled": String(h.enabled) } },
    el("strong", {}, el("code", { text: h.url })),
    el("p", { class: "hint", text: `${h.enabled ? "On" : "Off"}; ${h.events.join(", ")}; registered ${formatWhen(h.createdAt)}.` }),
    el("div", { class: "row" }, toggle, del),
    error,
    details,
  );
}

function createForm(load: (shown: HTMLElement | null) => void): HTMLFormElement {
  const url = field({ id: "webhook-url", label: "URL", hint: "https, to a public address (private and local addresses are refused).", attrs: { maxlength: 2000, spellcheck: "false", inputmode: "url" } });
  const events = WEBHOOK_EVENTS.map(([e, words]) => ({ event: e, box: checkbox(`webhook-event-${e.replace(".", "-")}`, e, words) }));
  for (const e of events) e.box.input.checked = e.event.startsWith("meeting.");
  const error = errorLine("webhook-create-error");
  const submit = submitButton("webhook-create", "Register webhook");
  const form = el(
    "form",
    { id: "webhook-form", attrs: { novalidate: true, "aria-labelledby": "webhook-form-title" } },
    el("h3", { id: "webhook-form-title", text: "New webhook" }),
    url.root,
    el("fieldset", {}, el("legend", { text: "Events" }), ...events.map((e) => e.box.root)),
    error,
    submit,
  );
  onSubmit(form, {
    button: submit,
    error,
    fields: { bad_url: url },
    check: () => {
      if (url.input.value.trim() === "") return fieldProblem(url, "Enter the receiver's URL.");
      if (!events.some((e) => e.box.input.checked)) {
        setError(error, "Choose at least one event.");
        return false;
      }
      return true;
    },
    run: async () => {
      const made = await createWebhook(
        url.input.value.trim(),
        events.filter((e) => e.box.input.checked).map((e) => e.event),
      );
      load(secretOnce("webhook-secret", `signing secret for ${made.webhook.url}`, made.secret));
    },
  });
  return form;
}
