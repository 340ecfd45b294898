// Every order action the API takes, by its name in `your_actions` (workflows/actions.py's
// ACTIONS): the route under /orders/{id}/ and what the request carries. A test checks that this
// table names every action of the workflow's table and only routes the OpenAPI document has.
//
// form: "plain" a button; "fields" a small form of the named fields; "review" approve, or
// reject with a reason; "answer" grant or refuse, with an optional reason.
// confirm: the button asks once more before it acts (money moves, or something goes public).

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
  move_deadline: { path: "deadline", form: "fields", fields: ["due_at", "reason"] },
};

// Statuses in which no deadline runs, for the ops' "move a deadline" (the order's view leaves
// ops out of its next steps: they are never the party an order waits for).
export const FINAL_STATUSES = new Set([
  "refused",
  "completed",
  "completed_with_violation",
  "cancelled",
]);

/** What the viewer may do on this order now: the view's `your_actions`; for ops, also moving
 *  a deadline while one runs (the workflow still judges: a refusal comes back as words). */
export function actionsFor(order, role) {
  const actions = [...(order.your_actions || [])];
  const running = (order.deadlines || []).some((d) => d.paused_remaining == null);
  if (
    role === "ops" &&
    running &&
    !FINAL_STATUSES.has(order.status) &&
    !actions.includes("move_deadline")
  ) {
    actions.push("move_deadline");
  }
  return actions;
}
