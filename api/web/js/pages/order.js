// One order, for whoever may see it: its state, who must act by when and what happens then,
// every action the viewer may take now (from the view's `your_actions`), the scripts and videos
// with their reviews, the virtual number, the marketing data with the plays chart, the timeline.

import { ACTION_ROUTES, actionsFor } from "../actions.js";
import { InputError, get, post, request, submission } from "../api.js";
import { append, busy, clear, facts, field, form, h, link, pageTitle, section, toast } from "../dom.js";
import { count, dateOnly, dateTime, isoToLocalInput, localInputToIso, percent, yuan } from "../format.js";
import { t } from "../i18n.js";
import { deadlineText, statusBadge, whoActs } from "../orderlist.js";
import { prereview, highlighted } from "../prereview.js";
import { navigate } from "../router.js";

// Statuses before acceptance, or after a cancellation, that have no virtual number yet.
const NO_CONTACT = new Set(["placing", "refused", "awaiting_acceptance", "cancelled"]);

export async function render(root, ctx) {
  const { params, user } = ctx;
  const base = `/orders/${encodeURIComponent(params.id)}`;
  const order = await get(base);
  const wantContact =
    (user.role === "client" || user.role === "creator") && !NO_CONTACT.has(order.status);
  const [timeline, contact, stats] = await Promise.all([
    get(`${base}/timeline`),
    wantContact ? get(`${base}/contact`).catch(() => null) : null,
    order.publications.length ? get(`${base}/stats`).catch(() => null) : null,
  ]);
  const actions = actionsFor(order);

  append(root, 
    pageTitle(order.brief.product, " ", statusBadge(order.status)),
    h(
      "p",
      { class: "muted" },
      t("order.id", { id: order.id }),
      " · ",
      h("button", { type: "button", class: "link", dataset: { refresh: "" }, onclick: () => ctx.refresh() }, t("common.refresh")),
    ),
    flags(order),
    h(
      "div",
      { class: "order-layout" },
      h(
        "div",
        { class: "order-main" },
        section(t("order.next"), nextSteps(order, user)),
        section(
          t("order.yourActions"),
          actions.length
            ? await actionControls(order, actions, base, ctx)
            : h("p", { class: "muted" }, t("order.noActions")),
        ),
        order.skip_script && !order.scripts.length ? null : section(t("order.scripts"), await scripts(order, user, ctx)),
        section(t("order.videos"), videos(order)),
        order.publications.length ? section(t("order.publications"), publications(order)) : null,
      ),
      h(
        "div",
        { class: "order-side" },
        stats ? section(t("order.marketing"), await marketing(base, stats)) : null,
        section(t("order.terms"), terms(order, user)),
        wantContact ? section(t("order.contact"), contactBox(contact)) : null,
        section(t("order.timeline"), timelineList(timeline, user)),
      ),
    ),
  );
}

function flags(order) {
  const notes = [];
  if (order.overdue) notes.push(h("p", { class: "flag overdue" }, t("order.overdue")));
  if (order.escalated) notes.push(h("p", { class: "flag escalated" }, t("order.escalated")));
  if (order.disputed) notes.push(h("p", { class: "flag disputed" }, t("order.disputed")));
  if (order.extension) {
    notes.push(
      h(
        "p",
        { class: "flag" },
        t("order.extensionAsked", { due: dateTime(order.extension.due_at), reason: order.extension.reason }),
      ),
    );
  }
  if (order.violation) notes.push(h("p", { class: "flag overdue" }, t("order.violation", { what: order.violation })));
  if (order.refusal) notes.push(h("p", { class: "flag" }, t("order.refusal", { why: order.refusal })));
  return notes.length ? h("div", { class: "flags", role: "status" }, notes) : null;
}

function nextSteps(order, user) {
  if (!order.next.length) return h("p", { class: "muted" }, t("order.nothingNext"));
  return h(
    "ul",
    { class: "steps" },
    order.next.map((step) =>
      h(
        "li",
        { class: step.actor === user.role ? "step mine" : "step" },
        h("strong", {}, whoActs(step.actor, user.role)),
        step.actions.length ? [": ", step.actions.map((a) => t(`action.${a}`, {}, a)).join(t("common.or"))] : null,
        step.deadline
          ? h(
              "div",
              {},
              t("order.deadline"),
              " ",
              deadlineText(step.deadline),
              step.outcome ? [" — ", t("order.then"), " ", t(`outcome.${step.outcome}`, {}, step.at_deadline)] : null,
            )
          : null,
      ),
    ),
  );
}

function terms(order, user) {
  return facts([
    [t("order.price"), yuan(order.price_fen)],
    user.role === "creator" ? null : [t("order.fee"), yuan(order.fee_fen)],
    user.role === "creator" ? null : [t("order.total"), yuan(order.total_fen)],
    [t("orderNew.requirements"), h("span", { class: "prose" }, order.brief.requirements)],
    [t("orderNew.dueDate"), order.brief.due_date ? dateOnly(order.brief.due_date) : null],
    [t("orderNew.scriptDue"), order.brief.script_due ? dateTime(order.brief.script_due) : null],
    [t("orderNew.videoDue"), order.brief.video_due ? dateTime(order.brief.video_due) : null],
    [t("orderNew.skipScript"), order.skip_script ? t("common.yes") : t("common.no")],
    [t("orderNew.retention"), t("orderNew.days", { n: order.retention_days })],
    [t("order.placedAt"), dateTime(order.placed_at)],
    [t("order.acceptedAt"), order.accepted_at ? dateTime(order.accepted_at) : null],
    [t("order.deliveryAcceptedAt"), order.delivery_accepted_at ? dateTime(order.delivery_accepted_at) : null],
    [t("order.retentionEndsAt"), order.retention_ends_at ? dateTime(order.retention_ends_at) : null],
    [
      t("order.videoPublic"),
      order.video_public === null || order.video_public === undefined
        ? null
        : order.video_public
          ? t("common.yes")
          : t("common.no"),
    ],
  ]);
}

function reviewsList(reviews) {
  if (!reviews.length) return null;
  return h(
    "ul",
    { class: "reviews" },
    reviews.map((r) =>
      h(
        "li",
        { class: r.approved ? "approved" : "rejected" },
        // The client's confirmation is recorded as a review too: it is named as one.
        h(
          "strong",
          {},
          r.by.role === "client"
            ? t(r.approved ? "order.confirmed" : "order.clientRejected")
            : t(r.approved ? "order.approved" : "order.rejected"),
        ),
        " · ",
        t(`role.${r.by.role}`),
        " · ",
        dateTime(r.at),
        r.reason ? [h("br"), t("order.reasonSaid", { reason: r.reason })] : null,
      ),
    ),
  );
}

async function scripts(order, user, ctx) {
  if (!order.scripts.length) return h("p", { class: "muted" }, t("order.noScript"));
  const newest = [...order.scripts].reverse();
  // The pre-review's matches (B2) on the newest script, for those who write or judge it.
  const judge = ["creator", "reviewer", "ops"].includes(user.role);
  const matches = judge && ctx.caps.prereview ? await prereview(ctx.caps, newest[0].text) : null;
  return h(
    "ol",
    { class: "versions", reversed: true },
    newest.map((s, i) =>
      h(
        "li",
        { dataset: { script: String(s.version) } },
        h("p", { class: "muted" }, t("order.version", { n: s.version }), " · ", dateTime(s.submitted_at)),
        i === 0 && matches ? highlighted(s.text, matches) : h("pre", { class: "script" }, s.text),
        reviewsList(s.reviews),
      ),
    ),
  );
}

function videos(order) {
  if (!order.videos.length) return h("p", { class: "muted" }, t("order.noVideo"));
  return h(
    "ol",
    { class: "versions", reversed: true },
    [...order.videos].reverse().map((v) =>
      h(
        "li",
        { dataset: { video: String(v.version) } },
        h("p", {}, t("order.version", { n: v.version }), " · ", h("code", {}, v.video_id), " · ", dateTime(v.submitted_at)),
        reviewsList(v.reviews),
      ),
    ),
  );
}

function publications(order) {
  return h(
    "ol",
    { class: "versions", reversed: true },
    [...order.publications].reverse().map((p) =>
      h(
        "li",
        {},
        h(
          "p",
          {},
          h("code", {}, p.video_id),
          " · ",
          t("order.publishedAt", { at: dateTime(p.published_at) }),
          p.review_required && !p.reviews.length ? [" · ", t("order.awaitingPublicationReview")] : null,
        ),
        reviewsList(p.reviews),
      ),
    ),
  );
}

function contactBox(contact) {
  if (!contact) return h("p", { class: "muted" }, t("order.noContact"));
  return h(
    "p",
    {},
    t("order.contactIs", { who: t(`role.${contact.counterpart_role}`) }),
    " ",
    link(`tel:${contact.virtual_number}`, contact.virtual_number, { class: "phone" }),
  );
}

async function marketing(base, stats) {
  const last = stats.samples[stats.samples.length - 1];
  let chart = null;
  try {
    // The chart needs the bearer token, so it is fetched, then shown from a blob: URL.
    const svg = await request("GET", `${base}/stats/plays.svg`, { as: "blob" });
    chart = h("img", { class: "chart", src: URL.createObjectURL(svg), alt: t("order.chartAlt"), width: 640, height: 320 });
  } catch {
    chart = null;
  }
  return [
    facts([
      [t("order.cost"), yuan(stats.cost_fen)],
      [t("order.plays"), count(stats.plays)],
      [t("order.engagements"), count(stats.engagements)],
      [t("order.cpm"), stats.cpm_fen === null ? "—" : yuan(stats.cpm_fen)],
      [t("order.cpe"), stats.cpe_fen === null ? "—" : yuan(stats.cpe_fen)],
      [t("order.completion"), last ? percent(last.completion_rate) : null],
      [t("order.samples"), String(stats.samples.length)],
    ]),
    chart,
  ];
}

function timelineList(entries, user) {
  if (!entries.length) return h("p", { class: "muted" }, t("order.noTimeline"));
  return h(
    "ol",
    { class: "timeline" },
    entries.map((e) =>
      h(
        "li",
        {},
        h("time", { datetime: e.at }, dateTime(e.at)),
        " ",
        h("strong", {}, t(`action.${e.action}`, {}, e.action)),
        " · ",
        e.actor_id === user.id ? t("order.byYou") : t(`role.${e.actor_role}`),
        " · ",
        e.from_status ? [t(`status.${e.from_status}`), " → "] : null,
        t(`status.${e.to_status}`),
        e.reason ? h("div", { class: "prose muted" }, t("order.reasonSaid", { reason: e.reason })) : null,
      ),
    ),
  );
}

// --- actions ---------------------------------------------------------------------------------

async function actionControls(order, actions, base, ctx) {
  const plain = [];
  const forms = [];
  for (const action of actions) {
    const spec = ACTION_ROUTES[action];
    if (!spec) {
      forms.push(h("p", { class: "muted" }, t("order.unsupported", { action: t(`action.${action}`, {}, action) })));
    } else if (spec.form === "plain") {
      plain.push(plainAction(action, spec, base, ctx));
    } else {
      forms.push(await actionForm(order, action, spec, base, ctx));
    }
  }
  return [plain.length ? h("div", { class: "row actions" }, plain) : null, forms];
}

/** Send an action; then show the order as it now is (a reviewer's review leaves its queue). */
async function act(action, spec, base, body, key, ctx) {
  const updated = await post(`${base}/${spec.path}`, body, key);
  toast(t("order.done", { action: t(`action.${action}`) }));
  if (ctx.user.role === "reviewer" && !(updated.your_actions || []).length) {
    navigate("/reviews");
  } else {
    await ctx.refresh();
  }
}

function plainAction(action, spec, base, ctx) {
  const send = submission();
  const errors = h("div", { class: "form-errors" });
  const holder = h("div", { class: "action" });
  const run = (button) => busy(button, errors, () => send((key) => act(action, spec, base, undefined, key, ctx)));
  const button = h(
    "button",
    {
      type: "button",
      class: "primary",
      dataset: { action },
      onclick: () => {
        if (!spec.confirm) return run(button);
        // Asked once more: this moves money or makes the video public.
        const yes = h("button", { type: "button", class: "primary", dataset: { confirm: action }, onclick: () => run(yes) }, t("order.confirmYes"));
        const no = h("button", { type: "button", onclick: () => clear(holder, button, errors) }, t("common.cancel"));
        clear(holder, h("p", { role: "alert" }, t(`confirm.${action}`, {}, t("order.confirmAsk"))), h("div", { class: "row" }, yes, no), errors);
        yes.focus();
      },
    },
    t(`action.${action}`),
  );
  holder.append(button, errors);
  return holder;
}

const FIELDS = {
  reason: () => field({ label: t("order.reason"), name: "reason", type: "textarea", required: true, maxlength: 1000 }),
  text: () => field({ label: t("order.scriptText"), name: "text", type: "textarea", required: true, maxlength: 5000, rows: 8 }),
  video_id: () =>
    field({
      label: t("order.videoId"),
      name: "video_id",
      required: true,
      maxlength: 64,
      pattern: "[A-Za-z0-9_.:\\-]+",
      hint: t("order.videoIdHint"),
      autocomplete: "off",
    }),
  due_at: () => field({ label: t("order.newDue"), name: "due_at", type: "datetime-local", required: true }),
  refund_fen: () =>
    field({ label: t("order.refundFen"), name: "refund_fen", type: "number", min: 0, step: 1, required: true, hint: t("order.refundFenHint") }),
  // With resolve_dispute's cancel only.
  "refund_fen?": () =>
    field({ label: t("order.refundFen"), name: "refund_fen", type: "number", min: 0, step: 1, hint: t("order.refundFenHint") }),
  resolution: () =>
    field({
      label: t("order.resolution"),
      name: "resolution",
      options: ["continue", "cancel", "accept_delivery"].map((r) => [r, t(`order.resolution.${r}`)]),
    }),
};

/** What a reviewer judges, beside the buttons: the newest script (with the pre-review's
 *  matches where the server has it), or the video's id. */
async function underReview(order, action, ctx) {
  if (action === "review_script" && order.scripts.length) {
    const text = order.scripts[order.scripts.length - 1].text;
    const matches = ctx.caps.prereview ? await prereview(ctx.caps, text) : null;
    return h("div", { class: "subject" }, h("p", {}, t("order.reviewingScript")), matches ? highlighted(text, matches) : h("pre", { class: "script" }, text));
  }
  const video =
    action === "review_publication"
      ? awaitingPublication(order)
      : order.videos.length
        ? order.videos[order.videos.length - 1].video_id
        : null;
  return h("p", { class: "subject" }, t("order.reviewingVideo", { video: video || "—" }));
}

async function actionForm(order, action, spec, base, ctx) {
  const send = submission();
  const title = h("h3", {}, t(`action.${action}`));
  let children;
  if (spec.form === "review") {
    children = [
      await underReview(order, action, ctx),
      field({ label: t("order.reviewReason"), name: "reason", type: "textarea", maxlength: 1000 }),
      h(
        "div",
        { class: "row" },
        h("button", { type: "submit", class: "primary", value: "approve", dataset: { action, verdict: "approve" } }, t("order.approve")),
        h("button", { type: "submit", class: "danger", value: "reject", dataset: { action, verdict: "reject" } }, t("order.reject")),
      ),
    ];
  } else if (spec.form === "answer") {
    children = [
      field({ label: t("order.answerReason"), name: "reason", type: "textarea", maxlength: 1000 }),
      h(
        "div",
        { class: "row" },
        h("button", { type: "submit", class: "primary", value: "grant", dataset: { action, verdict: "grant" } }, t("order.grant")),
        h("button", { type: "submit", class: "danger", value: "refuse", dataset: { action, verdict: "refuse" } }, t("order.refuse")),
      ),
    ];
  } else {
    children = [
      spec.fields.map((name) => FIELDS[name]()),
      h("button", { type: "submit", class: "primary", dataset: { action } }, t(`action.${action}`)),
    ];
  }
  const el = form({ class: "action-form stack", dataset: { form: action }, "aria-label": t(`action.${action}`) }, [title, children], async (v, _form, submitter) => {
    const body = bodyFor(order, action, spec, v, submitter?.value);
    await send((key) => act(action, spec, base, body, key, ctx));
  });
  if (spec.fields?.includes("due_at")) {
    const current = (order.deadlines || []).find((d) => d.paused_remaining == null);
    if (current) el.querySelector("input[name=due_at]").value = isoToLocalInput(current.due_at);
  }
  if (spec.fields?.includes("text") && ctx.caps.prereview) attachPrereview(el, ctx.caps);
  return el;
}

function awaitingPublication(order) {
  const waiting = order.publications.filter((p) => p.review_required && !p.reviews.length);
  return waiting.length ? waiting[waiting.length - 1].video_id : null;
}

function bodyFor(order, action, spec, v, verdict) {
  const reason = (v.reason || "").trim();
  if (spec.form === "review") {
    const approve = verdict !== "reject";
    if (!approve && !reason) throw new InputError(t("order.reasonNeeded"));
    const body = { approve, reason: reason || null };
    if (spec.publication) body.video_id = awaitingPublication(order);
    return body;
  }
  if (spec.form === "answer") return { [spec.answer || "grant"]: verdict !== "refuse", reason: reason || null };
  const body = {};
  for (const name of spec.fields) {
    if (name === "due_at") {
      body.due_at = localInputToIso(v.due_at);
      if (!body.due_at) throw new InputError(t("order.dueNeeded"));
    } else if (name === "reason") {
      if (!reason) throw new InputError(t("order.reasonNeeded"));
      body.reason = reason;
    } else if (name === "refund_fen" || name === "refund_fen?") {
      // A split's refund (X1, X4): whole fen; left empty, none (resolve_dispute's continue).
      if (v.refund_fen !== "" && (name === "refund_fen" || v.resolution === "cancel")) {
        body.refund_fen = Number.parseInt(v.refund_fen, 10);
      }
    } else {
      body[name] = name === "video_id" ? v[name].trim() : v[name];
    }
  }
  return body;
}

/** The script form shows the pre-review's matches (B2) before it is sent. */
function attachPrereview(el, caps) {
  const textarea = el.querySelector("textarea[name=text]");
  const preview = h("div", { class: "prereview", "aria-live": "polite" });
  const check = h(
    "button",
    {
      type: "button",
      dataset: { prereview: "" },
      onclick: async () => {
        const text = textarea.value;
        if (!text.trim()) return;
        const matches = await prereview(caps, text);
        clear(
          preview,
          matches === null
            ? null
            : matches.length
              ? [h("p", { class: "flag" }, t("order.prereviewFound", { n: matches.length })), highlighted(text, matches)]
              : h("p", { class: "muted" }, t("order.prereviewClean")),
        );
      },
    },
    t("order.prereviewCheck"),
  );
  textarea.closest(".field").after(h("div", { class: "row" }, check), preview);
}
