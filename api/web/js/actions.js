// Every order action the API takes, by its name in `your_actions` (workflows/actions.py's
// ACTIONS): the route under /orders/{id}/ and what the request carries. A test checks that this
// table names every action of the workflow's table and only routes the OpenAPI document has.
//
// form: "plain" a button; "fields" a small form of the named fields; "review" approve, or
// reject with a reason; "answer" grant or refuse, with an optional reason (sent as `answer`,
// `grant` unless it says otherwise).
// confirm: the button asks once more before it acts (money moves, or something goes public).
// ops: an ops action (P2). What the viewer may do now is the view's `your_actions`, ops'
// actions included; the workflow judges every action again: a refusal comes back as words.

export const ACTION_ROUTES = {
  accept: { path: "accept", form: "plain" },
  decline: { path: "decline", form: "fields", fields: ["reason"] },
  cancel: { path: "cancel", form: "fields", fields: ["reason"] },
  submit_script: { path: "script", form: "fields", fields: ["text"] },
  review_script: { path: "script/review", form: "review" },
  confirm_script: { path: "script/confirm", form: "plain" },
  reject_script: { path: "script/reject", form: "fields", fields: ["reason"] },
  submit_video: { path: "video", form: "fields", fields: ["video_id"] },
  review_video: { path: "video/review", form: "review" },
  confirm_video: { path: "video/confirm", form: "plain" },
  reject_video: { path: "video/reject", form: "fields", fields: ["reason"] },
  publish: { path: "publish", form: "plain", confirm: true },
  republish: { path: "republish", form: "fields", fields: ["video_id"] },
  review_publication: { path: "publication/review", form: "review", publication: true },
  accept_delivery: { path: "accept-delivery", form: "plain", confirm: true },
  cancel_overdue: { path: "cancel-overdue", form: "fields", fields: ["reason"] },
  request_extension: { path: "extension", form: "fields", fields: ["due_at", "reason"] },
  answer_extension: { path: "extension/answer", form: "answer" },
  move_deadline: {
    path: "deadline",
    form: "fields",
    fields: ["due_at", "reason"],
    ops: true,
  },
  // The ways out (X1, X3, P2): the view offers the parties theirs, and ops resolve_dispute
  // while a dispute waits for them.
  propose_cancellation: { path: "cancellation", form: "fields", fields: ["refund_fen", "reason"] },
  answer_cancellation: { path: "cancellation/answer", form: "answer", answer: "agree", confirm: true },
  open_dispute: { path: "dispute", form: "fields", fields: ["reason"] },
  resolve_dispute: { path: "dispute/resolve", form: "fields", fields: ["resolution", "refund_fen?", "reason"] },
  ops_cancel: { path: "ops-cancel", form: "fields", fields: ["reason"], ops: true },
};

// The statuses in which an order is over (the ops page leaves them out of its open orders).
export const FINAL_STATUSES = new Set([
  "refused",
  "completed",
  "completed_with_violation",
  "cancelled",
]);

/** What the viewer may do on this order now: the view's `your_actions` (workflows/actions.py's
 *  `allowed_now` for the viewer's role). */
export function actionsFor(order) {
  return [...(order.your_actions || [])];
}
